"""Batch evaluation against FAQ sets: retrieval metrics per mode, answer metrics, breakdowns, reports.

Input is JSONL in the FAQ format (question, relevant, answer_points, aspect, accents) or CSV with a
column mapping. Labels in ``relevant`` may be doc ids or source paths, so any corpus can be evaluated.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from assistant.text import has_diacritics

EVAL_MODES = ("bm25", "dense", "hybrid", "naive")
KS = (1, 3, 5, 10)
FIELDS = ("question", "relevant", "answer_points", "aspect")


@dataclass
class EvalItem:
    id: str
    question: str
    relevant: list[str] = field(default_factory=list)
    answer_points: list[str] = field(default_factory=list)
    aspect: str = ""
    accents: bool = True
    has_answer_points: bool = False
    has_relevant: bool = False


@dataclass
class LoadResult:
    items: list[EvalItem]
    errors: list[str]


def _split_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value or "").strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            return _split_list(json.loads(text))
        except json.JSONDecodeError:
            pass
    return [part.strip() for part in text.replace("|", ";").split(";") if part.strip()]


def _item(data: dict, number: int, mapping: dict[str, str]) -> EvalItem:
    def get(name: str) -> object:
        return data.get(mapping.get(name, name))

    question = str(get("question") or "").strip()
    if not question:
        raise ValueError("thiếu câu hỏi")
    relevant_raw, points_raw = get("relevant"), get("answer_points")
    return EvalItem(
        id=str(data.get("id") or f"q{number}"),
        question=question,
        relevant=_split_list(relevant_raw),
        answer_points=_split_list(points_raw),
        aspect=str(get("aspect") or ""),
        accents=bool(data["accents"]) if "accents" in data else has_diacritics(question),
        has_answer_points=points_raw is not None,
        has_relevant=relevant_raw is not None,
    )


def load_items(path: Path, mapping: dict[str, str] | None = None) -> LoadResult:
    """Read a FAQ file; malformed lines are reported by line number and skipped."""
    mapping = mapping or {}
    items: list[EvalItem] = []
    errors: list[str] = []
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        rows = ((number, row) for number, row in enumerate(reader, start=2))
    else:
        rows = ((n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip())
    for number, row in rows:
        try:
            data = row if isinstance(row, dict) else json.loads(row)
            if not isinstance(data, dict):
                raise ValueError("không phải một đối tượng JSON")
            items.append(_item(data, number, mapping))
        except (ValueError, TypeError) as exc:
            errors.append(f"{path.name}:{number}: {exc}")
    return LoadResult(items, errors)


# ---- metrics ------------------------------------------------------------------------------------


def first_rank(ranked: list[str], relevant: Iterable[str]) -> int | None:
    """0-based rank of the first relevant document, or None."""
    wanted = set(relevant)
    return next((i for i, doc in enumerate(ranked) if doc in wanted), None)


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank < k else 0.0


def reciprocal_rank(rank: int | None, k: int = 10) -> float:
    return 1.0 / (rank + 1) if rank is not None and rank < k else 0.0


def ndcg_at(ranked: list[str], relevant: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k."""
    wanted = set(relevant)
    gain = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in wanted)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(wanted), k)))
    return gain / ideal if ideal else 0.0


def bootstrap_ci(values: list[float], samples: int = 1000, seed: int = 13) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean."""
    if not values:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    return (means[int(0.025 * samples)], means[int(0.975 * samples) - 1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


# ---- running ------------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    id: str
    question: str
    aspect: str
    accents: bool
    field: str
    relevant: list[str]
    ranks: dict[str, int | None]
    ndcg: dict[str, float] = field(default_factory=dict)
    status: str = ""
    answer: str = ""
    answer_doc: str | None = None
    citations: list[dict] = field(default_factory=list)
    points_found: list[str] = field(default_factory=list)
    points_missed: list[str] = field(default_factory=list)
    citation_valid: bool = True
    citation_supported: bool | None = None
    latency_ms: float = 0.0
    problem: str = ""


def run(
    assistant,
    items: list[EvalItem],
    modes: Iterable[str] = EVAL_MODES,
    answers: bool = True,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[QuestionResult]:
    """Evaluate every item in every retrieval mode and, if asked, with the default answerer."""
    from assistant.answer import MARKER

    modes = list(modes)
    version = assistant.index.current()
    field_of = {
        version.metadatas[rows[0]]["doc_id"]: version.metadatas[rows[0]]["field"]
        for rows in version.rows_of_doc.values()
    }
    source_to_doc = {version.metadatas[rows[0]]["source"]: doc for doc, rows in version.rows_of_doc.items()}
    results: list[QuestionResult] = []
    for number, item in enumerate(tqdm(items, desc="Đánh giá", unit="câu", disable=not progress), start=1):
        relevant = {source_to_doc.get(label, label) for label in item.relevant}
        ranks: dict[str, int | None] = {}
        ndcg: dict[str, float] = {}
        for mode in modes:
            ranked = assistant.rank_documents(item.question, mode=mode, k=10)
            ranks[mode] = first_rank(ranked, relevant)
            ndcg[mode] = ndcg_at(ranked, relevant)
        first_label = next(iter(relevant), "")
        result = QuestionResult(
            id=item.id,
            question=item.question,
            aspect=item.aspect or "unknown",
            accents=item.accents,
            field=field_of.get(first_label, "ngoài phạm vi" if not relevant else "không rõ"),
            relevant=sorted(relevant),
            ranks=ranks,
            ndcg=ndcg,
        )
        if answers:
            started = time.perf_counter()
            answer = assistant.ask(item.question)
            result.latency_ms = (time.perf_counter() - started) * 1000
            result.status, result.answer, result.answer_doc = answer.status, answer.text, answer.doc_id
            result.citations = [c.as_dict() for c in answer.citations]
            markers = {int(n) for n in MARKER.findall(answer.text)}
            result.citation_valid = markers <= {c.n for c in answer.citations}
            if relevant and answer.citations:
                result.citation_supported = all(c.doc_id in relevant for c in answer.citations[:1])
            for point in item.answer_points:
                (result.points_found if point in answer.text else result.points_missed).append(point)
            result.problem = _diagnose(item, result, relevant)
        results.append(result)
        if on_progress:
            on_progress(number, len(items))
    return results


def _diagnose(item: EvalItem, result: QuestionResult, relevant: set[str]) -> str:
    if not relevant:
        return "" if result.status == "refused" else "ngoài phạm vi nhưng vẫn trả lời"
    if result.status == "refused":
        return "từ chối nhầm câu hỏi trong phạm vi"
    if result.status == "clarify":
        return "hỏi lại thay vì trả lời"
    if result.answer_doc not in relevant:
        return f"chọn sai tài liệu ({result.answer_doc})"
    if result.points_missed:
        return "đúng tài liệu nhưng thiếu ý: " + "; ".join(result.points_missed)
    return ""


# ---- aggregation --------------------------------------------------------------------------------


def _retrieval(results: list[QuestionResult], modes: list[str]) -> dict[str, float]:
    scored = [r for r in results if r.relevant]
    out: dict[str, float] = {}
    for mode in modes:
        ranks = [r.ranks.get(mode) for r in scored]
        for k in KS:
            values = [hit_at(rank, k) for rank in ranks]
            out[f"retrieval.{mode}.hit@{k}"] = mean(values)
            if k in (1, 5):
                low, high = bootstrap_ci(values)
                out[f"retrieval.{mode}.hit@{k}.ci95"] = [low, high]
        rr = [reciprocal_rank(rank) for rank in ranks]
        out[f"retrieval.{mode}.mrr@10"] = mean(rr)
        out[f"retrieval.{mode}.mrr@10.ci95"] = list(bootstrap_ci(rr))
        ndcg = [r.ndcg.get(mode, 0.0) for r in scored]
        out[f"retrieval.{mode}.ndcg@10"] = mean(ndcg)
        out[f"retrieval.{mode}.ndcg@10.ci95"] = list(bootstrap_ci(ndcg))
    return out


def _answers(results: list[QuestionResult]) -> dict[str, float]:
    answered = [r for r in results if r.status]
    if not answered:
        return {}
    in_scope = [r for r in answered if r.relevant]
    out_scope = [r for r in answered if not r.relevant]
    found = sum(len(r.points_found) for r in in_scope)
    total = found + sum(len(r.points_missed) for r in in_scope)
    refused = [r for r in answered if r.status == "refused"]
    supported = [r.citation_supported for r in in_scope if r.citation_supported is not None]
    latencies = [r.latency_ms for r in answered]
    return {
        "answer.answer_point_recall": found / total if total else 0.0,
        "answer.citation_validity": mean([1.0 if r.citation_valid else 0.0 for r in answered]),
        "answer.citation_support": mean([1.0 if s else 0.0 for s in supported]),
        "answer.clarify_rate": mean([1.0 if r.status == "clarify" else 0.0 for r in in_scope]),
        "answer.refusal_precision": (sum(1 for r in refused if not r.relevant) / len(refused))
        if refused
        else 0.0,
        "answer.refusal_recall": (
            sum(1 for r in out_scope if r.status == "refused") / len(out_scope) if out_scope else 0.0
        ),
        "latency.p50_ms": percentile(latencies, 0.5),
        "latency.p95_ms": percentile(latencies, 0.95),
    }


def metrics(results: list[QuestionResult], modes: Iterable[str]) -> dict[str, object]:
    modes = list(modes)
    out: dict[str, object] = {"questions": len(results), "in_scope": sum(1 for r in results if r.relevant)}
    out.update(_retrieval(results, modes))
    out.update(_answers(results))
    main = "hybrid" if "hybrid" in modes else (modes[0] if modes else None)
    for name, key in (
        ("aspect", lambda r: r.aspect),
        ("accents", lambda r: "có dấu" if r.accents else "không dấu"),
        ("field", lambda r: r.field),
    ):
        groups: dict[str, list[QuestionResult]] = defaultdict(list)
        for r in results:
            groups[key(r)].append(r)
        for group, members in sorted(groups.items()):
            prefix = f"by_{name}.{group}"
            out[f"{prefix}.n"] = len(members)
            if main and any(m.relevant for m in members):
                scored = [m for m in members if m.relevant]
                out[f"{prefix}.hit@5"] = mean([hit_at(m.ranks.get(main), 5) for m in scored])
            points = [m for m in members if m.points_found or m.points_missed]
            if points:
                found = sum(len(m.points_found) for m in points)
                out[f"{prefix}.answer_point_recall"] = found / sum(
                    len(m.points_found) + len(m.points_missed) for m in points
                )
    return out


# ---- reports ------------------------------------------------------------------------------------


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.3f}" for v in value) + "]"
    return str(value)


def write_report(
    results: list[QuestionResult],
    summary: dict[str, object],
    modes: list[str],
    out: Path,
    sources: list[str],
    errors: list[str],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    with open(out / "results.jsonl", "w", encoding="utf-8") as handle:
        for r in results:
            handle.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    lines = [
        "# Báo cáo đánh giá",
        "",
        f"Tệp: {', '.join(sources)}; {summary['questions']} câu hỏi ({summary['in_scope']} trong phạm vi).",
        "",
    ]
    if errors:
        lines += ["## Dòng bị bỏ qua", "", *[f"- {e}" for e in errors], ""]
    lines += [
        "## Truy hồi theo chế độ",
        "",
        "| chế độ | hit@1 | hit@3 | hit@5 | hit@10 | MRR@10 | nDCG@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        cells = [
            _fmt(summary.get(f"retrieval.{mode}.{m}", 0.0))
            for m in ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10")
        ]
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    lines += ["", "Khoảng tin cậy 95% (bootstrap) có trong metrics.json.", ""]
    answer_keys = [k for k in summary if k.startswith(("answer.", "latency."))]
    if answer_keys:
        lines += ["## Câu trả lời", "", "| chỉ số | giá trị |", "|---|---|"]
        lines += [f"| {k} | {_fmt(summary[k])} |" for k in answer_keys]
        lines.append("")
    for name in ("accents", "aspect", "field"):
        keys = sorted(k for k in summary if k.startswith(f"by_{name}.") and k.endswith(".n"))
        if not keys:
            continue
        lines += [f"## Theo {name}", "", "| nhóm | số câu | hit@5 | độ phủ ý trả lời |", "|---|---|---|---|"]
        for key in keys:
            prefix = key[: -len(".n")]
            group = prefix.split(".", 1)[1]
            lines.append(
                f"| {group} | {summary[key]} | {_fmt(summary.get(prefix + '.hit@5', '–'))} | "
                f"{_fmt(summary.get(prefix + '.answer_point_recall', '–'))} |"
            )
        lines.append("")
    worst = sorted(
        (r for r in results if r.problem),
        key=lambda r: (r.ranks.get("hybrid") is not None, len(r.points_found)),
    )[:20]
    if worst:
        lines += ["## 20 câu kém nhất", "", "| id | câu hỏi | vấn đề |", "|---|---|---|"]
        lines += [
            f"| {r.id} | {r.question.replace('|', '/')} | {r.problem.replace('|', '/')} |" for r in worst
        ]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_chart(summary, modes, out / "report.png")


def write_chart(summary: dict[str, object], modes: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / max(1, len(modes))
    for i, mode in enumerate(modes):
        values = [summary.get(f"retrieval.{mode}.hit@{k}", 0.0) for k in KS]
        left.bar([x + i * width for x in range(len(KS))], values, width, label=mode)
    left.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(KS))], [f"hit@{k}" for k in KS])
    left.set_ylim(0, 1)
    left.set_title("Truy hồi theo chế độ")
    left.legend()
    groups = sorted(
        k[: -len(".hit@5")] for k in summary if k.startswith("by_accents.") and k.endswith(".hit@5")
    )
    groups += sorted(
        k[: -len(".hit@5")] for k in summary if k.startswith("by_aspect.") and k.endswith(".hit@5")
    )
    right.barh([g.split(".", 1)[1] for g in groups], [summary[g + ".hit@5"] for g in groups], color="#2a7")
    right.set_xlim(0, 1)
    right.set_title("hybrid hit@5 theo nhóm")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
