"""What an upload costs a running app: the embedder and the served version are already loaded.

    .venv/bin/python eval/bench_app_upload.py --index IDX --paths DIR [DIR ...] [--uploads 3]

``bench_publish.py`` runs ``assistant ingest`` as a new process, so each publish there also loads the
embedding model and the served version. An admin upload in the app has both in memory. This opens the
index (copy it first: the uploads stay in it), answers one search, then publishes ``--uploads`` new
guides one after another (each added as a new file under a temporary folder beside ``--paths``) and
prints each publish's seconds inside the ingest.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from eval.bench_publish import new_guide  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--paths", type=Path, nargs="+", required=True)
    parser.add_argument("--uploads", type=int, default=3)
    args = parser.parse_args()
    assistant = Assistant(Settings(index_dir=args.index))
    assistant.search("đăng ký kết hôn", k=5)  # a serving process: model and version loaded
    results = []
    with tempfile.TemporaryDirectory() as folder:
        uploads = Path(folder)
        for n in range(args.uploads):
            new_guide(uploads, f"tai-len-thu-{n}")
            report = assistant.ingest([*args.paths, uploads], progress=False)
            results.append({"seconds": round(report.seconds, 2), "embedded": report.chunks_embedded})
            print(json.dumps(results[-1]), file=sys.stderr)
            assistant.search("đăng ký kết hôn", k=5)  # the next request moves to the new version
    print(json.dumps({"chunks": len(assistant.snapshot().ids), "uploads": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
