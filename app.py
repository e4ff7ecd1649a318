"""One process serves the HTTP API (/api/v1, /docs) and the Gradio app (/).

python app.py [--host 127.0.0.1] [--port 7860]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
import uvicorn
from fastapi import FastAPI

from assistant.channels.api import create_api
from assistant.channels.ui import CSS, build_app
from assistant.service import Assistant


def create_server(assistant: Assistant) -> FastAPI:
    settings = assistant.settings
    blocks = build_app(assistant)
    server = gr.mount_gradio_app(
        create_api(assistant),
        blocks,
        path="/",
        css=CSS,
        show_error=False,
        max_file_size=int(settings.max_upload_mb * 2**20),
        allowed_paths=[str(settings.data_dir / "exports")],
    )
    # Gradio checks that a file named in a request lies in its own upload folder only once the app
    # "has launched", which mount_gradio_app never records: without this, a crafted request made the
    # evaluation tab read any .csv/.jsonl on the server and copy other files into Gradio's cache.
    blocks.has_launched = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="Trợ lý ảo hành chính: API và giao diện web")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument(
        "--no-ingest", action="store_true", help="serve the index as it is, without checking corpus_dirs"
    )
    args = parser.parse_args()
    assistant = Assistant()
    if not args.no_ingest:
        # Incremental: builds a missing index with a progress bar, updates a stale one, and costs
        # well under a second when nothing changed.
        print(assistant.ingest(assistant.settings.corpus_dirs, progress=True).summary(), flush=True)
    assistant.warm_up()
    print(f"Trợ lý ảo hành chính: http://{args.host}:{args.port}/  (API: /docs)", flush=True)
    uvicorn.run(create_server(assistant), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
