"""Train the routing models shipped in assistant/data/models/ (see assistant/pipeline/procedures.py and
assistant/pipeline/confidence.py), reproducibly, from the tuning question sets only:

- eval/faq_procedures.jsonl, eval/faq_reports.jsonl, eval/faq_routing.jsonl and eval/faq_records.jsonl
  (labelled questions: right documents, procedures the corpus lacks, questions about something else);
- the unseen sets of earlier sessions (faq_unseen to faq_unseen17, faq_records_unseen to
  faq_records_unseen8), each measured once and reported before it joined the training data;
- questions generated from every guide's title and aliases (how people name a procedure);
- questions generated from the titles of province-level portal records that no guide covers (real
  procedures the knowledge base lacks), when ../shared is present.

Never the held-out files (HELD_OUT), nor the uncovered procedures they ask about.

    .venv/bin/python eval/train_routing.py [--index DIR] [--out assistant/data/models]

A LightGBM LambdaRank model orders each question's candidate documents. The confidence models (a LightGBM
binary model for answer-or-refuse, a logistic one for which refusal) are fitted on out-of-fold rankings
(five folds), so they learn how often the ranker's first choice is right on questions it has not seen;
the answer threshold is picked on out-of-fold predictions of the binary model.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.ingest.loaders import ALIAS_SEPARATOR  # noqa: E402
from assistant.pipeline.confidence import (  # noqa: E402
    IN_SCOPE_FILE,
    QUESTION_FEATURES,
    ROUTING_FILE,
    Logistic,
    question_features,
)
from assistant.pipeline.procedures import FEATURES, RANKER_FILE, ProcedureRanker  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.text import fold  # noqa: E402

TUNING_SETS = (
    "faq_procedures.jsonl",
    "faq_reports.jsonl",
    "faq_routing.jsonl",
    "faq_records.jsonl",
    "faq_unseen.jsonl",
    "faq_unseen2.jsonl",
    "faq_records_unseen.jsonl",
    # Written by helpers who saw no code, each measured once and reported (eval/README.md) before it
    # joined the training data (sessions 23 to 27): the models learn more from them than the hand-set
    # rules that were tuned on them.
    *(f"faq_unseen{n}.jsonl" for n in range(3, 18)),
    *(f"faq_records_unseen{n}.jsonl" for n in range(2, 9)),
)
# Measured on, never trained on: neither their questions nor the procedures they ask about (the codes they
# name are kept out of the generated not-covered questions too).
HELD_OUT = ("faq_heldout.jsonl", "faq_unseen18.jsonl", "faq_records_unseen9.jsonl")
RECORDS = ROOT.parent / "shared" / "data" / "dvc-procedures"
SUBSET_SIZE = 240
# Records the tests ask about by code, kept in the subset with every code a guide carries.
SUBSET_EXTRA = (
    "1.001193", "1.004222", "1.004194", "1.000894", "1.001456", "1.013225", "1.001612", "2.000815",
    "1.000656", "1.004873", "1.014064", "3.000333", "2.000992", "1.010055", "2.000930",
)  # fmt: skip
MANIFEST = ROOT.parent / "shared" / "data" / "dvc-procedures.manifest.jsonl"
CODE = re.compile(r"^\d\.\d{6}$")
SEED = 13
FOLDS = 5
# Small, reproducible trees: what both LightGBM models share.
TREES = {
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 40,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "seed": SEED,
    "verbose": -1,
}
RANKER_PARAMS = {
    **TREES,
    "objective": "lambdarank",
    "metric": "ndcg",
    "ndcg_eval_at": [1],
    "feature_fraction": 0.9,
    "lambdarank_truncation_level": 10,
}
ROUNDS = 200
# Whether to answer: a binary model over the question signals, with the ranker's tree sizes.
IN_SCOPE_PARAMS = {**TREES, "objective": "binary"}
# The answer threshold is the highest at which at most this share of answerable questions is refused
# (out of fold): the share the issue allows on unseen questions. Every point of it buys refusals of
# questions the knowledge base cannot answer. (The out-of-fold share counts the records deployment's
# harder questions too; on the corpus's own unseen sets the share refused was lower, eval/README.md.)
FALSE_REFUSALS = 0.03
# The not-in-knowledge-base / off-topic model sees a few hundred refusals only: a stronger penalty keeps
# its weights steady from one training run to the next.
KIND_L2 = 10.0
ASPECT_TEMPLATES = (
    "{name}",
    "{name} cần giấy tờ gì",
    "lệ phí {name} bao nhiêu",
    "{name} mất bao lâu",
    "{name} nộp ở đâu",
    "thủ tục {name} như thế nào",
)


@dataclass
class Example:
    text: str
    kind: str  # answer | not_in_kb | off_topic
    relevant: set[str] = field(default_factory=set)
    real: bool = True  # written by a person (generated ones only teach the ranker names)
    source: str = ""  # the question set it comes from


def guide_codes() -> list[str]:
    """Every portal code a shipped guide carries."""
    codes = []
    for path in sorted((ROOT / "corpus" / "procedures").glob("*.md")):
        head = path.read_text(encoding="utf-8").split("\n---", 1)[0]
        codes += [
            c.strip().strip('"') for c in head.split("codes:", 1)[1].split("\n", 1)[0].strip(" []").split(",")
        ]
    return codes


def record_subset(target: Path, size: int = SUBSET_SIZE) -> Path:
    """Real portal records as a deployment holds them, small enough to index in a test session: every
    code a guide carries and SUBSET_EXTRA, then filler in code order (near neighbours included)."""
    files = sorted(RECORDS.glob("*.md"))
    wanted = dict.fromkeys([*SUBSET_EXTRA, *guide_codes()])
    chosen = [RECORDS / f"{code}.md" for code in wanted if (RECORDS / f"{code}.md").exists()]
    chosen += [f for f in files if f not in chosen][: max(0, size - len(chosen))]
    target.mkdir(parents=True, exist_ok=True)
    for file in chosen:
        shutil.copy(file, target / file.name)
    return target


def labelled(assistant: Assistant) -> list[Example]:
    """The tuning sets, labelled for this index: a question about a procedure the index holds (by
    code) expects an answer, even where another index lacks it."""
    snapshot = assistant.snapshot()
    by_code: dict[str, set[str]] = {}
    for doc_id in snapshot.doc_ids:
        for code in snapshot.doc_meta(doc_id).get("code", "").split(", "):
            by_code.setdefault(code, set()).add(doc_id)
    examples = []
    for name in TUNING_SETS:
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            labels = [*row["relevant"], *([row["code"]] if row.get("code") else [])]
            docs = {d for label in labels for d in (by_code.get(label) or {label})} & set(snapshot.doc_ids)
            kind = "answer" if docs else row.get("expect") or "off_topic"
            if row["relevant"] and not docs:
                continue  # labelled with a procedure this index does not hold
            examples.append(Example(row["question"], kind, docs, source=name))
    return examples


def generated(assistant: Assistant, rng: random.Random) -> list[Example]:
    """Questions made from each guide's names, half of them typed without diacritics."""
    snapshot = assistant.snapshot()
    examples = []
    for doc_id in snapshot.doc_ids:
        meta = snapshot.doc_meta(doc_id)
        if meta.get("kind") != "procedure" or doc_id in snapshot.guide_of:
            continue
        title = re.sub(r"^Thủ tục\s+|\s*\(.*?\)", "", meta["title"]).strip()
        names = [title.lower()] + [
            a.strip() for a in meta.get("aliases", "").split(ALIAS_SEPARATOR.strip()) if a.strip()
        ]
        for name in names:
            text = rng.choice(ASPECT_TEMPLATES).format(name=name)
            examples.append(Example(fold(text) if rng.random() < 0.5 else text, "answer", {doc_id}, False))
    return examples


def uncovered(assistant: Assistant, rng: random.Random, count: int = 150) -> list[Example]:
    """Questions about province-level portal procedures no guide covers: real procedures the
    knowledge base lacks (the ward-level ones are asked about in the tuning sets), except those a
    held-out set asks about."""
    if not MANIFEST.exists():
        return []
    snapshot = assistant.snapshot()
    covered = {c for d in snapshot.doc_ids for c in snapshot.doc_meta(d).get("code", "").split(", ")}
    excluded = covered.union(*(_set_codes(name) for name in HELD_OUT if (ROOT / "eval" / name).exists()))
    records = [json.loads(line) for line in MANIFEST.read_text(encoding="utf-8").splitlines() if line.strip()]
    pool = [r for r in records if "Cấp xã" not in r["cap_thuc_hien"] and r["ma_thu_tuc"] not in excluded]
    examples = []
    for record in rng.sample(pool, min(count, len(pool))):
        name = re.sub(r"^Thủ tục\s+", "", record["title"]).split("(")[0].strip().lower()
        text = rng.choice(ASPECT_TEMPLATES[1:]).format(name=name)
        examples.append(Example(fold(text) if rng.random() < 0.5 else text, "not_in_kb"))
    return examples


def _set_codes(name: str) -> set[str]:
    """The portal codes the questions of one eval/ set name."""
    lines = (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
    return {code for line in lines if line.strip() for code in _codes(json.loads(line))}


def _codes(row: dict) -> list[str]:
    """The portal codes a question names: the one it asks about, and those it is labelled with."""
    named = [c.removesuffix(".md") for c in [row.get("code", ""), *row.get("relevant", [])]]
    return [c for c in named if CODE.match(c)]


@dataclass
class Prepared:
    example: Example
    features: np.ndarray  # one row per candidate
    labels: np.ndarray
    doc_ids: list[str]
    question: object
    off_topic_margin: float
    names: object  # the NameIndex of the snapshot the question was asked of
    with_records: bool  # asked of the deployment with the record subset


def prepare(assistant: Assistant, examples: list[Example], with_records: bool) -> list[Prepared]:
    snapshot = assistant.snapshot()
    anchors = assistant._off_topic_vectors
    prepared = []
    for example in examples:
        question = assistant.understand(example.text, snapshot)
        result = assistant.retriever.search(question, snapshot, assistant.settings.top_k)
        if not result.candidates:
            continue
        vector = result.query_vector / (np.linalg.norm(result.query_vector) or 1.0)
        margin = result.best_similarity - float((anchors @ vector).max())
        docs = [c.doc_id for c in result.candidates]
        labels = np.asarray([d in example.relevant for d in docs], dtype=np.int32)
        features = np.vstack([c.features for c in result.candidates])
        names = assistant.retriever.procedures.names(snapshot)
        prepared.append(Prepared(example, features, labels, docs, question, margin, names, with_records))
    return prepared


def train_ranker(items: list[Prepared]):
    import lightgbm

    usable = [p for p in items if p.labels.any()]
    data = lightgbm.Dataset(
        np.vstack([p.features for p in usable]),
        np.concatenate([p.labels for p in usable]),
        group=[len(p.labels) for p in usable],
        feature_name=list(FEATURES),
        free_raw_data=False,
    )
    return lightgbm.train(RANKER_PARAMS, data, num_boost_round=ROUNDS)


def confidence_rows(items: list[Prepared], booster) -> tuple[np.ndarray, np.ndarray]:
    """Question features after ranking with ``booster``, and whether the first candidate is right."""
    rows, right = [], []
    for p in items:
        candidates = _reranked(p, booster)
        rows.append(question_features(p.question, candidates, p.names, p.off_topic_margin))
        right.append(p.example.kind == "answer" and candidates[0].doc_id in p.example.relevant)
    return np.vstack(rows), np.asarray(right, dtype=np.float64)


def _reranked(p: Prepared, booster):
    from assistant.pipeline.procedures import Candidate

    scores = booster.predict(p.features)
    candidates = [Candidate(d, 0, p.features[i], float(scores[i])) for i, d in enumerate(p.doc_ids)]
    return sorted(candidates, key=lambda c: -c.score)


def train_in_scope(x: np.ndarray, answerable: np.ndarray):
    import lightgbm

    data = lightgbm.Dataset(x, answerable.astype(np.float64), feature_name=list(QUESTION_FEATURES))
    return lightgbm.train(IN_SCOPE_PARAMS, data, num_boost_round=ROUNDS)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> Logistic:
    """L2-regularised logistic regression by Newton's method on standardised features."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * l2
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hessian, gradient)
    return Logistic(mean, scale, w[:-1], float(w[-1]))


def pick_threshold(probabilities: np.ndarray, answerable: np.ndarray) -> tuple[float, list]:
    """The highest threshold that refuses at most FALSE_REFUSALS of the answerable questions."""
    table = []
    for threshold in np.arange(0.05, 0.96, 0.01):
        refused = probabilities < threshold
        false_refusals = float(refused[answerable].mean())
        refused_others = float(refused[~answerable].mean()) if (~answerable).any() else 0.0
        table.append((round(float(threshold), 2), round(false_refusals, 4), round(refused_others, 4)))
    allowed = [row for row in table if row[1] <= FALSE_REFUSALS]
    return (max(allowed)[0] if allowed else table[0][0]), table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", default=str(ROOT / ".cache" / "train-index"), help="corpus/ alone")
    parser.add_argument(
        "--records-index",
        default=str(ROOT / ".cache" / "train-records-index"),
        help="corpus/ plus the record subset (record_subset); built if missing",
    )
    parser.add_argument(
        "--records-dir", default=None, help="the record subset; copied from ../shared if not given"
    )
    parser.add_argument("--out", default=str(ROOT / "assistant" / "data" / "models"))
    parser.add_argument("--embedding-cache", default=None)
    args = parser.parse_args()
    items = []
    for index, extra in _deployments(args):
        assistant = Assistant(Settings(index_dir=Path(index), embedding_cache=args.embedding_cache))
        assistant.ingest([ROOT / "corpus", *extra], progress=True)
        assistant.retriever.procedures = ProcedureRanker(None)  # features only: the fused order
        rng = random.Random(SEED)
        examples = (
            labelled(assistant) + generated(assistant, rng) + (uncovered(assistant, rng) if not extra else [])
        )
        items += prepare(assistant, examples, bool(extra))
    print(f"{len(items)} questions, {sum(p.example.real for p in items)} written by people", file=sys.stderr)
    report = fit(items)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RANKER_FILE).write_text(report.pop("ranker"), encoding="utf-8")
    (out / IN_SCOPE_FILE).write_text(report.pop("in_scope"), encoding="utf-8")
    (out / ROUTING_FILE).write_text(json.dumps(report.pop("routing"), indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


def _deployments(args: argparse.Namespace) -> list[tuple[str, list[Path]]]:
    """The shipped corpus alone, and (when the shared records are there) with the record subset."""
    found = [(args.index, [])]
    if args.records_dir or RECORDS.is_dir():
        folder = (
            Path(args.records_dir)
            if args.records_dir
            else record_subset(Path(args.records_index).parent / "train-records")
        )
        found.append((args.records_index, [folder]))
    return found


def fit(items: list[Prepared]) -> dict[str, object]:
    """Out-of-fold rankings for the confidence models, then the final models on everything."""
    order = list(range(len(items)))
    random.Random(SEED).shuffle(order)
    folds = [order[i::FOLDS] for i in range(FOLDS)]
    x_parts, right_parts, kept = [], [], []
    for held in folds:
        held_set = set(held)
        booster = train_ranker([items[i] for i in order if i not in held_set])
        real = [items[i] for i in held if items[i].example.real]
        x, right = confidence_rows(real, booster)
        x_parts.append(x)
        right_parts.append(right)
        kept += real
    x, right = np.vstack(x_parts), np.concatenate(right_parts)
    answerable = np.asarray([p.example.kind == "answer" for p in kept])
    in_scope = train_in_scope(x, answerable)
    oof = _cross_validated(x, answerable)
    threshold, table = pick_threshold(oof, answerable)
    negatives = ~answerable
    kinds = np.asarray([p.example.kind == "not_in_kb" for p in kept], dtype=np.float64)
    kind_model = fit_logistic(x[negatives], kinds[negatives], l2=KIND_L2)
    ranker = train_ranker(items)
    top1 = float(right[answerable].mean())
    return {
        "ranker": ranker.model_to_string(),
        "in_scope": in_scope.model_to_string(),
        "routing": {
            "features": list(QUESTION_FEATURES),
            "threshold": threshold,
            "not_in_kb": kind_model.as_dict(),
        },
        "out_of_fold_top1_on_answerable": round(top1, 4),
        "threshold": threshold,
        "threshold_table (threshold, false refusals, other questions refused)": [
            row for row in table if abs(row[0] - threshold) <= 0.1
        ],
        "wrong_first_choice_among_answered": round(
            float((~right.astype(bool))[answerable & (oof >= threshold)].mean()), 4
        ),
        "out_of_fold_by_deployment": {
            name: _outcomes(right[rows], answerable[rows], oof[rows] >= threshold)
            for name, rows in (
                ("corpus", np.asarray([not p.with_records for p in kept])),
                ("with records", np.asarray([p.with_records for p in kept])),
                (
                    "with records, records sets",
                    np.asarray([p.with_records and "records" in p.example.source for p in kept]),
                ),
            )
        },
    }


def _outcomes(right: np.ndarray, answerable: np.ndarray, answered: np.ndarray) -> dict[str, float]:
    """What users of one deployment meet, out of fold: answerable questions answered right, answered
    wrong and refused; other questions refused."""
    right = right.astype(bool)

    def share(hits: np.ndarray) -> float:
        return round(float(hits.mean()), 4) if hits.size else 0.0

    return {
        "answerable": int(answerable.sum()),
        "right": share((answered & right)[answerable]),
        "wrong": share((answered & ~right)[answerable]),
        "refused": share((~answered)[answerable]),
        "others": int((~answerable).sum()),
        "others_refused": share((~answered)[~answerable]),
    }


def _cross_validated(x: np.ndarray, answerable: np.ndarray) -> np.ndarray:
    """Out-of-fold probabilities of the answer-or-refuse model, five folds."""
    order = list(range(len(answerable)))
    random.Random(SEED).shuffle(order)
    out = np.zeros(len(answerable))
    for held in (order[i::FOLDS] for i in range(FOLDS)):
        rest = sorted(set(order) - set(held))
        out[held] = train_in_scope(x[rest], answerable[rest]).predict(x[held])
    return out


if __name__ == "__main__":
    raise SystemExit(main())
