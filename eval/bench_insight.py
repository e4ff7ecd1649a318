"""Question-log and gap-report costs (issue: staff insight). Run on an index of corpus/:

    .venv/bin/python eval/bench_insight.py --index .index [--asks 300] [--rows 1000]

1. The same asks with the log off and on, alternating, one process: the p50 of each and the difference.
2. A log of ``--rows`` refused and clarified questions (the tuning sets' not-covered and out-of-scope
   questions, repeated with their embeddings): the time the gap report takes.
Results are printed as JSON (and written to eval/results/bench_insight.json with --save).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
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


def gap_report(index: Path, data: Path, rows: int) -> dict[str, float]:
    assistant = Assistant(Settings(index_dir=index, data_dir=data / "gaps"))
    snapshot = assistant.snapshot()
    log = assistant.question_log
    wanted = [q for q in questions()][:120]
    vectors = [assistant.retriever.dense.embed(assistant.understand(q, snapshot)) for q in wanted]
    for n in range(rows):
        question, vector = wanted[n % len(wanted)], vectors[n % len(wanted)]
        log.record(
            Asked("api", f"s{n}", question, "refused", "not_in_knowledge_base", "", "", [], [], 30.0, vector)
        )
    log.flush()
    started = time.perf_counter()
    report = assistant.insight.gaps()
    return {"rows": rows, "gap_report_s": time.perf_counter() - started, "groups": len(report["gaps"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", default=str(ROOT / ".index"))
    parser.add_argument("--asks", type=int, default=300)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        result = {
            **logging_overhead(Path(args.index), data, args.asks),
            **gap_report(Path(args.index), data, args.rows),
        }
    result = {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}
    print(json.dumps(result, indent=1))
    if args.save:
        (ROOT / "eval" / "results" / "bench_insight.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
