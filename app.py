"""Start the web app: python app.py [--host 127.0.0.1] [--port 7860]."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.service import Assistant
from assistant.ui import CSS, build_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Trợ lý ảo hành chính: giao diện web")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args()
    assistant = Assistant()
    assistant.warm_up()
    build_app(assistant).launch(server_name=args.host, server_port=args.port, css=CSS, show_error=False)


if __name__ == "__main__":
    main()
