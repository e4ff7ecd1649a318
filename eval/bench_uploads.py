"""Memory of a serving process that publishes many index versions, as an app does on admin uploads.

    .venv/bin/python eval/bench_uploads.py [--uploads N] [--out FILE]

Indexes five shipped guides, then N times replaces a sixth guide and re-ingests (each ingest
publishes a new version) and asks one question, all in one process. Prints the process's RSS and how
many index versions it holds open (files under the index folder in /proc/self/fd) every ten uploads.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.service import Assistant  # noqa: E402


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def open_versions(index_dir: Path) -> set[str]:
    """Index versions whose files (Chroma's SQLite and vector files) this process holds open."""
    folders = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(f"{index_dir}/versions/"):
            folders.add(Path(target).relative_to(index_dir).parts[1])
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    guides = sorted((ROOT / "corpus" / "procedures").glob("*.md"))
    with tempfile.TemporaryDirectory() as tmp:
        work, index_dir = Path(tmp) / "docs", Path(tmp) / "index"
        work.mkdir()
        for guide in guides[:5]:
            shutil.copy(guide, work)
        assistant = Assistant(Settings(index_dir=index_dir))
        assistant.ingest([work], progress=False)
        rows = []
        for n in range(args.uploads + 1):
            if n:
                shutil.copy(guides[5 + n % 20], work / "upload.md")
                assistant.ingest([work], progress=False)
            assistant.ask("khai sinh cần gì")
            if n % 10 == 0:
                held = len(open_versions(index_dir))
                rows.append({"uploads": n, "rss_mb": round(rss_mb(), 1), "open_versions": held})
                print(rows[-1], flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
