"""The Gradio web app: citizen chat, staff look-up, batch evaluation and admin ingest.

Every tab calls the shared ``Assistant`` and nothing else. Text that users or documents supply is
rendered as text (``render.py``), so no one can inject HTML into the page.
"""

from __future__ import annotations

import gradio as gr

from assistant.channels.ui.chat import chat_tab
from assistant.channels.ui.insight import insight_tab
from assistant.channels.ui.lookup import lookup_tab
from assistant.channels.ui.staff import admin_tab, eval_tab
from assistant.service import Assistant

CSS = """
#chat { min-height: 420px; }
.citation summary { cursor: pointer; }
@media (max-width: 640px) { .gradio-container { padding: 4px !important; } }
"""


def build_app(assistant: Assistant) -> gr.Blocks:
    # Files Gradio keeps (uploads, downloads) are deleted an hour after they were made.
    with gr.Blocks(title="Trợ lý ảo hành chính TP.HCM", delete_cache=(3600, 3600)) as app:
        gr.Markdown(
            "# Trợ lý ảo hành chính TP.HCM\nHỏi về thủ tục hành chính bằng tiếng Việt, có dấu hay không dấu "
            "đều được. Câu trả lời trích nguyên văn từ tài liệu và ghi rõ nguồn. Tổng đài hỗ trợ: **1022**."
        )
        with gr.Tab("Hỏi đáp", id="chat-tab"):
            chat_tab(assistant)
        with gr.Tab("Tra cứu thủ tục", id="lookup-tab"):
            lookup_tab(assistant)
        with gr.Tab("Đánh giá", id="eval-tab"):
            eval_tab(assistant)
        with gr.Tab("Quản trị", id="admin-tab"):
            admin_tab(assistant)
        with gr.Tab("Thống kê", id="insight-tab"):
            insight_tab(assistant)
    return app
