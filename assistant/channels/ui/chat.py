"""The citizen's tab: streaming chat with numbered citations, clickable options and feedback."""

from __future__ import annotations

import html
import uuid

import gradio as gr

from assistant.channels.ui.render import answer_message, safe_html
from assistant.errors import IndexUnavailable, QuestionError, UnknownFilter
from assistant.pipeline.answers import Answer
from assistant.service import Assistant

RELATED_MARK = "→ "
EXAMPLES = [
    "Làm giấy khai sinh cho con cần những giấy tờ gì?",
    "dang ky tam tru khi thue tro het bao nhieu tien",
    "Cấp đổi thẻ căn cước mất bao lâu?",
    "nam 2023 thanh pho co bao nhieu ho so tre han",
]


def chat_tab(assistant: Assistant) -> None:
    session = gr.State(lambda: uuid.uuid4().hex)
    last = gr.State({})
    chat = gr.Chatbot(elem_id="chat", label="Trò chuyện", sanitize_html=True, feedback_options=None)
    options = gr.Radio(choices=[], label="Chọn thủ tục bạn muốn hỏi", visible=False, elem_id="options")
    with gr.Row():
        message = gr.Textbox(
            elem_id="msg", placeholder="Ví dụ: lam giay khai sinh can gi", show_label=False, scale=5, lines=1
        )
        send = gr.Button("Gửi", variant="primary", scale=1, elem_id="send")
    gr.Examples(EXAMPLES, inputs=message, label="Câu hỏi mẫu")
    with gr.Row():
        new_chat = gr.Button("Cuộc trò chuyện mới", elem_id="new-chat")
        up = gr.Button("👍 Hữu ích", elem_id="fb-up")
        down = gr.Button("👎 Chưa đúng", elem_id="fb-down")
    comment = gr.Textbox(label="Góp ý thêm (không bắt buộc)", elem_id="fb-comment", lines=1)
    feedback_note = gr.Markdown(elem_id="fb-note")

    def respond(text: str, history: list, session_id: str):
        yield from _reply(assistant, text, history, session_id)

    def choose(choice: str | None, history: list, session_id: str):
        if not choice:
            yield history, "", gr.update(), {}
            return
        # "2. Title" picks an offered option by its number; "→ Title" asks about a related procedure.
        asked = (
            choice.removeprefix(RELATED_MARK) if choice.startswith(RELATED_MARK) else choice.split(".", 1)[0]
        )
        yield from respond(asked, history, session_id)

    def rate(rating: str, note: str, session_id: str, turn: dict):
        if not turn:
            return "Hãy hỏi một câu trước khi đánh giá.", note
        assistant.add_feedback(session_id, turn["question"], turn["answer"], rating, note or "")
        return "Cảm ơn bạn đã góp ý!", ""

    outputs = [chat, message, options, last]
    message.submit(respond, [message, chat, session], outputs)
    send.click(respond, [message, chat, session], outputs)
    options.input(choose, [options, chat, session], outputs)
    new_chat.click(
        lambda: ([], uuid.uuid4().hex, gr.update(visible=False), {}), None, [chat, session, options, last]
    )
    up.click(lambda n, s, t: rate("up", n, s, t), [comment, session, last], [feedback_note, comment])
    down.click(lambda n, s, t: rate("down", n, s, t), [comment, session, last], [feedback_note, comment])


def _reply(assistant: Assistant, text: str, history: list, session_id: str):
    """The chat's updates for one question: the streamed text, then the answer with its citations and
    any options, as (history, cleared box, options radio, the turn kept for feedback)."""
    history = list(history or [])
    question = (text or "").strip()
    if not question:
        yield history, "", gr.update(), {}
        return
    history.append({"role": "user", "content": safe_html(question)})
    history.append({"role": "assistant", "content": ""})
    streamed = ""
    try:
        for part in assistant.ask_stream(question, session_id=session_id, channel="web"):
            if isinstance(part, Answer):
                history[-1]["content"] = answer_message(part, assistant.settings.link_domains)
                choices = [f"{o.n}. {o.title}" for o in part.options]
                choices = choices or [f"{RELATED_MARK}{o.title}" for o in part.related]
                label = "Chọn thủ tục bạn muốn hỏi" if part.options else "Xem thủ tục liên quan"
                radio = gr.update(choices=choices, value=None, visible=bool(choices), label=label)
                yield history, "", radio, {"question": question, "answer": part.text}
            else:
                streamed += part
                history[-1]["content"] = safe_html(streamed)
                yield history, "", gr.update(), {}
    except (QuestionError, IndexUnavailable, UnknownFilter) as exc:
        history[-1]["content"] = f"Không xử lý được câu hỏi: {html.escape(str(exc))}"
        yield history, "", gr.update(visible=False), {}
