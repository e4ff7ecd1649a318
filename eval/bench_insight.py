"""Question-log and gap-report costs (issue: staff insight). Run on an index of corpus/:

    .venv/bin/python eval/bench_insight.py --index .index [--asks 300] [--rows 1000]

1. The same asks with the log off and on, alternating, one process: the p50 of each and the difference.
2. A log of ``--rows`` refused and clarified questions (the tuning sets' not-covered and out-of-scope
   questions, repeated with their embeddings): the time the gap report takes.
3. With ``--grouping FILE`` (an FAQ file whose not-covered questions carry a ``code``): how well the gap
   groups keep the questions about one procedure together, first with every such question logged as
   refused (grouping alone), then with each one asked for real (only what was refused or asked back
   reaches the report). "together" is the share of questions sitting in the group that holds most of
   their procedure's questions; "pure" the share sitting in a group whose majority is their procedure.
Results are printed as JSON (and written to eval/results/bench_insight.json with --save).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.insight.gaps import group  # noqa: E402
from assistant.insight.log import Asked  # noqa: E402
from assistant.service import Assistant  # noqa: E402


def questions() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "faq_routing.jsonl").read_text().splitlines()]
    return [r["question"] for r in rows]


def logging_overhead(index: Path, data: Path, asks: int) -> dict[str, float]:
    on = Assistant(Settings(index_dir=index, data_dir=data / "on"))
    off = Assistant(Settings(index_dir=index, data_dir=data / "off", question_log=False))
    asked = (questions() * 10)[:asks]
    on.ask(asked[0], channel="api")
    off.ask(asked[0], channel="api")
    timings: dict[str, list[float]] = {"on": [], "off": []}
    for question in asked:
        for name, assistant in (("off", off), ("on", on)):
            started = time.perf_counter()
            assistant.ask(question, channel="api")
            timings[name].append((time.perf_counter() - started) * 1000)
    on.question_log.flush()
    p50 = {name: statistics.median(values) for name, values in timings.items()}
    return {
        "asks": asks,
        "p50_off_ms": p50["off"],
        "p50_on_ms": p50["on"],
        "added_p50_ms": p50["on"] - p50["off"],
    }


def _refused(n: int, question: str, vector: object) -> Asked:
    """A logged ask refused as not in the knowledge base, with the embedding retrieval computed."""
    return Asked("api", f"s{n}", question, "refused", "not_in_knowledge_base", "", "", [], [], 30.0, vector)


def gap_report(index: Path, data: Path, rows: int) -> dict[str, float]:
    assistant = Assistant(Settings(index_dir=index, data_dir=data / "gaps"))
    snapshot = assistant.snapshot()
    log = assistant.question_log
    wanted = [q for q in questions()][:120]
    vectors = [assistant.retriever.dense.embed(assistant.understand(q, snapshot)) for q in wanted]
    for n in range(rows):
        question, vector = wanted[n % len(wanted)], vectors[n % len(wanted)]
        log.record(_refused(n, question, vector))
    log.flush()
    started = time.perf_counter()
    report = assistant.insight.gaps()
    return {"rows": rows, "gap_report_s": time.perf_counter() - started, "groups": len(report["gaps"])}


def grouping(index: Path, data: Path, file: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
    wanted = [r for r in rows if r.get("group") == "not_covered" and r.get("code")]
    all_refused = Assistant(Settings(index_dir=index, data_dir=data / "all-refused"))
    snapshot = all_refused.snapshot()
    for n, row in enumerate(wanted):
        vector = all_refused.retriever.dense.embed(all_refused.understand(row["question"], snapshot))
        all_refused.question_log.record(_refused(n, row["question"], vector))
    all_refused.question_log.flush()
    asked_for_real = Assistant(Settings(index_dir=index, data_dir=data / "asked"))
    for n, row in enumerate(wanted):
        asked_for_real.ask(row["question"], session_id=f"s{n}", channel="api")
    asked_for_real.question_log.flush()
    return {
        "not_covered_questions": len(wanted),
        "procedures": len({r["code"] for r in wanted}),
        **{f"grouping_alone.{k}": v for k, v in _togetherness(all_refused, wanted).items()},
        **{f"asked.{k}": v for k, v in _togetherness(asked_for_real, wanted).items()},
    }


def _togetherness(assistant: Assistant, wanted: list[dict]) -> dict[str, float]:
    code_of = {row["question"]: row["code"] for row in wanted}
    insight = assistant.insight
    rows = insight.rows()
    gaps = group(rows, insight.titles(), set(), insight.centre())
    question_of = {row["id"]: row["question"] for row in rows}
    group_of = {question_of[member]: n for n, gap in enumerate(gaps) for member in gap.members}
    reached = [q for q in code_of if q in group_of]
    by_code: dict[str, Counter] = {}
    by_group: dict[int, Counter] = {}
    for question in reached:
        by_code.setdefault(code_of[question], Counter())[group_of[question]] += 1
        by_group.setdefault(group_of[question], Counter())[code_of[question]] += 1
    together = sum(max(groups.values()) for groups in by_code.values())
    pure = sum(by_group[group_of[q]].most_common(1)[0][0] == code_of[q] for q in reached)
    return {
        "reached_report": len(reached) / len(wanted),
        "together": together / max(len(reached), 1),
        "pure": pure / max(len(reached), 1),
        "groups": len(gaps),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", default=str(ROOT / ".index"))
    parser.add_argument("--asks", type=int, default=300)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--grouping", type=Path, help="FAQ file whose not-covered questions carry a code")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        result = {
            **logging_overhead(Path(args.index), data, args.asks),
            **gap_report(Path(args.index), data, args.rows),
            **(grouping(Path(args.index), data, args.grouping) if args.grouping else {}),
        }
    result = {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}
    print(json.dumps(result, indent=1))
    if args.save:
        (ROOT / "eval" / "results" / "bench_insight.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
