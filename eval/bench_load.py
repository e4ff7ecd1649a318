"""Bounded load test of /api/v1/ask on loopback.

    .venv/bin/python eval/bench_load.py [--requests 200] [--concurrency 16] [--url URL]

Without --url it starts `app.py` on a free local port over the index in ASSISTANT_INDEX_DIR (default
.index/), sends the FAQ questions round-robin, and reports p50/p95/p99 latency, throughput and the
error count. Traffic goes only to 127.0.0.1, and the run stops by itself after --requests.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluation.metrics import percentile  # noqa: E402


def questions() -> list[str]:
    lines = (ROOT / "eval" / "faq_procedures.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--no-ingest"],
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the server did not become ready within 90 s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--url", help="an already running server on loopback")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    process, url = (None, args.url) if args.url else start_server()
    pool = questions()
    errors: list[str] = []

    def one(n: int) -> float:
        started = time.perf_counter()
        try:
            r = httpx.post(f"{url}/api/v1/ask", json={"question": pool[n % len(pool)]}, timeout=60)
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:80]}")
        except httpx.HTTPError as exc:
            errors.append(repr(exc))
        return (time.perf_counter() - started) * 1000

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as executor:
            latencies = list(executor.map(one, range(args.requests)))
        wall = time.perf_counter() - started
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=20)
    figures = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "errors": len(errors),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "requests_per_s": round(args.requests / wall, 1),
    }
    print(json.dumps(figures, indent=2))
    if errors:
        print("first errors:", *errors[:5], sep="\n  ")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
