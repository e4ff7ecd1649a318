"""What publishing one document costs on a large index: add it, change it, remove it.

    .venv/bin/python eval/bench_publish.py --index IDX --paths corpus ../shared/data/dvc-procedures \
        [--baseline REV] [--out eval/results/bench_publish.json]

IDX is an index already built from --paths (for example corpus/ plus the 1,239 shared records). For each
code tree (this checkout, and with --baseline the commit REV checked out in a temporary worktree) the
index is copied, then `assistant ingest` runs four times: a first publish with one guide added (it also
brings an index written by another release up to the tree's layout, so it is reported apart as
"first"), then with a second new guide added, with that guide changed by a line, and with it removed.
Each figure is the ingest's own time and the process's wall time (which adds start-up and loading the
served version); the disk is synced before each step, so that no step pays for the writes of the one
before. Both trees run in the same invocation, one after the other, on copies of the same
index and embedding cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "corpus" / "procedures" / "ban-sao-trich-luc-ho-tich.md"


def new_guide(folder: Path, doc_id: str = "thu-nghiem-xuat-ban") -> Path:
    """A guide the index does not hold yet: a shipped one under another id and title."""
    text = GUIDE.read_text(encoding="utf-8")
    head, body = text.split("\n---", 1)
    lines = [
        f"id: {doc_id}"
        if line.startswith("id:")
        else f"title: Hướng dẫn thử nghiệm xuất bản {doc_id}"
        if line.startswith("title:")
        else line
        for line in head.splitlines()
    ]
    path = folder / f"{doc_id}.md"
    path.write_text("\n".join(lines) + "\n---" + body, encoding="utf-8")
    return path


def ingest(tree: Path, index: Path, paths: list[Path]) -> dict[str, float]:
    command = [sys.executable, "-m", "assistant", "ingest", *map(str, paths), "--index", str(index), "--json"]
    # What the step before wrote (a copied index, a first publish's 500 MB at 100k) is flushed first:
    # otherwise the kernel writes it back during this step, and that, not this publish, decides it.
    os.sync()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    report = json.loads(done.stdout)
    return {"ingest_s": round(report["seconds"], 2), "wall_s": round(wall, 2), "version": report["version"]}


def run(tree: Path, source: Path, paths: list[Path], work: Path) -> dict[str, object]:
    index = work / "index"
    shutil.copytree(source, index)
    extra = work / "extra"
    extra.mkdir()
    new_guide(extra, "thu-nghiem-lan-dau")
    results: dict[str, object] = {"first": ingest(tree, index, [*paths, extra])}
    guide = new_guide(extra)
    results["add"] = ingest(tree, index, [*paths, extra])
    with open(guide, "a", encoding="utf-8") as out:
        out.write("\nMột dòng thêm để thử xuất bản lại.\n")
    results["change"] = ingest(tree, index, [*paths, extra])
    guide.unlink()
    results["remove"] = ingest(tree, index, [*paths, extra])
    chunks = sum(1 for _ in (index / "versions" / str(results["remove"]["version"]) / "rows.jsonl").open())
    return {"chunks": chunks, **results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--paths", type=Path, nargs="+", required=True)
    parser.add_argument("--baseline", help="a git revision to measure beside this checkout")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    paths = [p.resolve() for p in args.paths]
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        trees = {"this checkout": ROOT}
        if args.baseline:
            base = Path(folder) / "baseline"
            add = ["git", "worktree", "add", "--detach", str(base), args.baseline]
            subprocess.run(add, cwd=ROOT, check=True)
            trees[f"baseline {args.baseline}"] = base
        try:
            for n, (name, tree) in enumerate(trees.items()):
                work = Path(folder) / f"run{n}"
                work.mkdir()
                result[name] = run(tree, args.index.resolve(), paths, work)
                print(name, json.dumps(result[name]), file=sys.stderr)
        finally:
            if args.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
