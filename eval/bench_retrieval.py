"""Retrieval benchmark on the 1,239 real portal records (../shared/data/dvc-procedures).

    .venv/bin/python eval/bench_retrieval.py [--records DIR] [--limit N] [--index DIR] [--out FILE]
        [--embedding-cache FILE]

Reports ingest chunks/s, re-ingest time with nothing changed and with one small document added (a
new version carries every vector over), search latency p50/p95 for accented and
unaccented questions (query embedding included), peak RSS of a process that only searches, and index
size. The search phase runs in its own process so that its memory is not mixed with ingestion's.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.evaluation.metrics import percentile  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.text import fold  # noqa: E402

ADDED_DOCUMENT = "# Lịch tiếp công dân\n\n## Thời gian\n\nTiếp công dân vào sáng thứ Năm hằng tuần.\n"


def questions() -> list[str]:
    """Citizen questions from the FAQ set, each asked as typed and without diacritics."""
    rows = [json.loads(line) for line in (ROOT / "eval" / "faq_procedures.jsonl").open(encoding="utf-8")]
    accented = [r["question"] for r in rows if r["accents"]][:150]
    return accented + [fold(q) for q in accented]


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM starts afresh at exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def search_phase(index: Path) -> dict[str, float]:
    assistant = Assistant(Settings(index_dir=index))
    started = time.perf_counter()
    assistant.search("khởi động", k=10)
    load_s = time.perf_counter() - started
    timings: dict[str, list[float]] = {"accented": [], "unaccented": []}
    for question in questions():
        t0 = time.perf_counter()
        assistant.search(question, k=10)
        key = "accented" if question != fold(question) else "unaccented"
        timings[key].append((time.perf_counter() - t0) * 1000)
    result = {"first_search_s": round(load_s, 2)}
    for key, values in timings.items():
        result[f"{key}_p50_ms"] = round(percentile(values, 0.5), 1)
        result[f"{key}_p95_ms"] = round(percentile(values, 0.95), 1)
        result[f"{key}_n"] = len(values)
    result["search_peak_rss_mb"] = peak_rss_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=Path, default=ROOT.parent / "shared" / "data" / "dvc-procedures")
    parser.add_argument("--limit", type=int, default=0, help="only the first N records (0: all)")
    parser.add_argument("--index", type=Path, help="keep the index here instead of a temporary folder")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument(
        "--embedding-cache",
        type=Path,
        help="reuse vectors embedded by an earlier run (ingest_s then excludes embedding)",
    )
    parser.add_argument("--search-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.search_only:
        print(json.dumps(search_phase(args.search_only)))
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    index = args.index or workdir / "index"
    source = args.records
    if args.limit:
        source = workdir / "records"
        source.mkdir()
        for file in sorted(args.records.glob("*.md"))[: args.limit]:
            shutil.copy(file, source / file.name)
    try:
        assistant = Assistant(Settings(index_dir=index, embedding_cache=args.embedding_cache))
        first = assistant.ingest([source], progress=True)
        again = assistant.ingest([source], progress=False)
        added = workdir / "added"
        added.mkdir()
        (added / "bench-added.md").write_text(ADDED_DOCUMENT, encoding="utf-8")
        one_more = assistant.ingest([source, added], progress=False)
        stats = assistant.stats()
        search = subprocess.run(
            [sys.executable, __file__, "--search-only", str(index)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = {
            "records": len(first.indexed),
            "chunks": stats["chunks"],
            "chunks_embedded": first.chunks_embedded,
            "ingest_s": round(first.seconds, 1),
            "ingest_chunks_per_s": round(stats["chunks"] / first.seconds, 2),
            "reingest_unchanged_s": round(again.seconds, 2),
            "reingest_one_added_s": round(one_more.seconds, 2),
            "index_mb": round(stats["index_bytes"] / 2**20, 1),
            "ingest_peak_rss_mb": peak_rss_mb(),
            **json.loads(search.stdout),
        }
        print(json.dumps(figures, indent=2))
        if args.out:
            args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    finally:
        if not args.index:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
