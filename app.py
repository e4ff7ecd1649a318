"""Gradio web app: chat with the shared Assistant (python app.py --host 127.0.0.1 --port 7860)."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from assistant.service import Assistant


def build_app(assistant: Assistant) -> gr.Blocks:
    def respond(message: str, history: list[dict]) -> str:
        result = assistant.search(message, k=3)
        if not result.hits:
            return "Chưa tìm thấy thông tin phù hợp. Vui lòng gọi tổng đài 1022."
        lines = [f"{n}. **{h.title}** — {h.section}\n\n{h.text[:400]}" for n, h in enumerate(result.hits, 1)]
        return "\n\n".join(lines)

    with gr.Blocks(title="Trợ lý ảo hành chính") as app:
        gr.Markdown("# Trợ lý ảo hành chính TP.HCM")
        gr.ChatInterface(respond, textbox=gr.Textbox(elem_id="msg", placeholder="Nhập câu hỏi..."))
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Trợ lý ảo hành chính: giao diện web")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args()
    build_app(Assistant()).launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
