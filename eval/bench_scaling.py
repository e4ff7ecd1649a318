"""How cost grows with the index: ingest, search latency and memory at about 1k, 10k and 100k chunks.

    .venv/bin/python eval/bench_scaling.py --cache PATH [--sizes 1000,10000,100000] [--out FILE]

The 1,239 shared portal records give about 14,500 chunks; larger sizes replicate them under altered
file names (so new doc ids). Replicas have the same passage text, so with a warm embedding cache
(--cache, e.g. the one `bench_retrieval.py --index DIR` filled) their vectors come from the cache:
the ingest figures then measure everything but embedding (loading, chunking, Chroma, BM25, accent
model), and embedding cost is the separate chunks/s figure of bench_retrieval.py.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.service import Assistant  # noqa: E402

RECORDS = ROOT.parent / "shared" / "data" / "dvc-procedures"
CHUNKS_PER_RECORD = 11.7  # measured on the full set: 14,503 chunks from 1,239 records


def replicate(target_chunks: int, folder: Path) -> int:
    files = sorted(RECORDS.glob("*.md"))
    wanted = math.ceil(target_chunks / CHUNKS_PER_RECORD)
    folder.mkdir(parents=True)
    for n in range(wanted):
        source = files[n % len(files)]
        copy = n // len(files)
        shutil.copy(source, folder / (source.name if copy == 0 else f"r{copy}-{source.name}"))
    return wanted


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", type=Path, required=True, help="embedding cache (SQLite) to reuse")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix=f"bench-scaling-{size}-"))
        try:
            records = replicate(size, work / "records")
            assistant = Assistant(Settings(index_dir=work / "index", embedding_cache=args.cache))
            started = time.perf_counter()
            report = assistant.ingest([work / "records"], progress=False)
            ingest_s = time.perf_counter() - started
            stats = assistant.stats()
            search = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "eval" / "bench_retrieval.py"),
                    "--search-only",
                    str(work / "index"),
                ],
                capture_output=True,
                text=True,
                check=True,
                env={"ASSISTANT_EMBEDDING_CACHE": str(args.cache), "PATH": "/usr/bin:/bin"},
            )
            row = {
                "target_chunks": size,
                "records": records,
                "chunks": stats["chunks"],
                "chunks_embedded": report.chunks_embedded,
                "ingest_s": round(ingest_s, 1),
                "index_mb": round(stats["index_bytes"] / 2**20, 1),
                **json.loads(search.stdout),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
