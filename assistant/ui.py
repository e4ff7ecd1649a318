"""The Gradio web app: citizen chat, staff lookup, batch evaluation and admin ingest.

Every tab calls the shared ``Assistant`` and nothing else. Text that users or documents supply is
escaped before it is shown, so no one can inject HTML into the page.
"""

from __future__ import annotations

import csv
import hmac
import html
import tempfile
import uuid
from pathlib import Path

import gradio as gr

from assistant.answer import Answer
from assistant.evaluation import EVAL_MODES, load_items, metrics, run, write_report
from assistant.feedback import FeedbackStore
from assistant.index import IndexError_
from assistant.retrieval import KINDS, UnknownFilter
from assistant.service import Assistant, QuestionError
from assistant.uploads import UploadError, save_upload

EXAMPLES = [
    "Làm giấy khai sinh cho con cần những giấy tờ gì?",
    "dang ky tam tru khi thue tro het bao nhieu tien",
    "Cấp đổi thẻ căn cước mất bao lâu?",
    "nam 2023 thanh pho co bao nhieu ho so tre han",
]
LOOKUP_COLUMNS = ["Mã", "Tên thủ tục", "Lĩnh vực", "Cấp", "Lệ phí", "Thời hạn"]
CSS = """
#chat { min-height: 420px; }
.citation summary { cursor: pointer; }
@media (max-width: 640px) { .gradio-container { padding: 4px !important; } }
"""


def citations_html(answer: Answer) -> str:
    """Numbered, expandable citations; every piece of document text is escaped."""
    if not answer.citations:
        return ""
    parts = ["\n\n**Nguồn trích dẫn:**\n"]
    for c in answer.citations:
        link = f' — <a href="{html.escape(c.url)}" target="_blank">xem trên cổng</a>' if c.url else ""
        parts.append(
            f'<details class="citation" id="cite-{c.n}"><summary>[{c.n}] {html.escape(c.title)} — '
            f"{html.escape(c.section)}</summary>\n\n<blockquote>{html.escape(c.quote)}</blockquote>"
            f"<small>{html.escape(c.source)}{link}</small></details>"
        )
    return "\n".join(parts)


def _message_text(content: object) -> str:
    """Gradio 6 may hand message content over as a list of parts."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def build_app(assistant: Assistant) -> gr.Blocks:
    settings = assistant.settings
    feedback = FeedbackStore(settings.data_dir / "feedback.sqlite")

    with gr.Blocks(title="Trợ lý ảo hành chính TP.HCM") as app:
        gr.Markdown(
            "# Trợ lý ảo hành chính TP.HCM\nHỏi về thủ tục hành chính bằng tiếng Việt, có dấu hay không dấu "
            "đều được. Câu trả lời trích nguyên văn từ tài liệu và ghi rõ nguồn. Tổng đài hỗ trợ: **1022**."
        )
        with gr.Tab("Hỏi đáp", id="chat-tab"):
            _chat_tab(assistant, feedback)
        with gr.Tab("Tra cứu thủ tục", id="lookup-tab"):
            _lookup_tab(assistant)
        with gr.Tab("Đánh giá", id="eval-tab"):
            _eval_tab(assistant)
        with gr.Tab("Quản trị", id="admin-tab"):
            _admin_tab(assistant)
    return app


def _chat_tab(assistant: Assistant, feedback: FeedbackStore) -> None:
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
        history = list(history or [])
        question = (text or "").strip()
        if not question:
            yield history, "", gr.update(), {}
            return
        history.append({"role": "user", "content": html.escape(question)})
        history.append({"role": "assistant", "content": ""})
        try:
            for part in assistant.ask_stream(question, session_id=session_id):
                if isinstance(part, Answer):
                    history[-1]["content"] = part.text + citations_html(part)
                    choices = [f"{o.n}. {o.title}" for o in part.options]
                    radio = gr.update(choices=choices, value=None, visible=bool(choices))
                    yield history, "", radio, {"question": question, "answer": part.text}
                else:
                    history[-1]["content"] += part
                    yield history, "", gr.update(), {}
        except (QuestionError, IndexError_, UnknownFilter) as exc:
            history[-1]["content"] = f"Không xử lý được câu hỏi: {html.escape(str(exc))}"
            yield history, "", gr.update(visible=False), {}

    def choose(choice: str | None, history: list, session_id: str):
        if not choice:
            yield history, "", gr.update(), {}
            return
        yield from respond(choice.split(".", 1)[0], history, session_id)

    def rate(rating: str, note: str, session_id: str, turn: dict):
        if not turn:
            return "Hãy hỏi một câu trước khi đánh giá.", note
        feedback.add(session_id, turn["question"], turn["answer"], rating, note or "")
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


def _lookup_rows(records: list[dict]) -> list[list[str]]:
    return [[r["code"], r["title"], r["field"], r["level"], r["fee"], r["processing_time"]] for r in records]


def _record_markdown(record: dict | None) -> str:
    if not record:
        return ""
    esc = html.escape
    lines = [f"## {esc(record['title'])}", ""]
    facts = [
        ("Mã thủ tục", record["code"]),
        ("Lĩnh vực", record["field"]),
        ("Cấp thực hiện", record["level"]),
        ("Lệ phí", record["fee"]),
        ("Thời hạn", record["processing_time"]),
    ]
    lines += [f"- **{label}:** {esc(str(value))}" for label, value in facts if value]
    if record["url"]:
        lines.append(
            f'- **Cổng Dịch vụ công:** <a href="{esc(record["url"])}" '
            f'target="_blank">{esc(record["url"])}</a>'
        )
    for section in record["sections"]:
        lines += ["", f"### {esc(section['name'])}", "", esc(section["text"])]
    return "\n".join(lines)


def _lookup_tab(assistant: Assistant) -> None:
    try:
        records = assistant.list_documents()
    except IndexError_:
        records = []
    fields = sorted({r["field"] for r in records if r["field"]})
    with gr.Row():
        query = gr.Textbox(label="Tìm thủ tục (có dấu hay không dấu)", elem_id="lookup-q", scale=3)
        field = gr.Dropdown(["", *fields], value="", label="Lĩnh vực", elem_id="lookup-field")
        level = gr.Dropdown(["", "Cấp xã", "Cấp tỉnh"], value="", label="Cấp", elem_id="lookup-level")
        kind = gr.Dropdown(["", *KINDS], value="", label="Loại", elem_id="lookup-kind")
    search = gr.Button("Tìm", variant="primary", elem_id="lookup-search")
    table = gr.Dataframe(
        headers=LOOKUP_COLUMNS, value=[], interactive=False, wrap=True, elem_id="lookup-table"
    )
    found = gr.State([])
    export = gr.DownloadButton("Tải danh sách (CSV)", elem_id="lookup-export", visible=False)
    detail = gr.Markdown(elem_id="lookup-detail")

    def do_search(text: str, field_v: str, level_v: str, kind_v: str):
        filters = {"field": field_v, "level": level_v, "kind": kind_v}
        try:
            if (text or "").strip():
                hits = assistant.search(text, k=20, filters=filters).hits
                chosen = [assistant.document(h.doc_id) for h in hits]
            else:
                chosen = assistant.list_documents(filters)
        except (UnknownFilter, IndexError_) as exc:
            return [], [], gr.update(visible=False), f"Lỗi: {html.escape(str(exc))}"
        summaries = [{k: v for k, v in r.items() if k != "sections"} for r in chosen if r]
        path = Path(tempfile.mkdtemp()) / "tra-cuu-thu-tuc.csv"
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*LOOKUP_COLUMNS, "Đường dẫn"])
            for row, record in zip(_lookup_rows(summaries), summaries, strict=True):
                writer.writerow([*row, record["url"]])
        note = f"Tìm thấy {len(summaries)} thủ tục. Chọn một dòng để xem toàn văn."
        return _lookup_rows(summaries), summaries, gr.update(value=str(path), visible=True), note

    def open_record(summaries: list[dict], event: gr.SelectData):
        row = event.index[0] if isinstance(event.index, list | tuple) else event.index
        if not summaries or row is None or row >= len(summaries):
            return ""
        return _record_markdown(assistant.document(summaries[row]["doc_id"]))

    inputs = [query, field, level, kind]
    search.click(do_search, inputs, [table, found, export, detail])
    query.submit(do_search, inputs, [table, found, export, detail])
    table.select(open_record, [found], detail)


def _eval_tab(assistant: Assistant) -> None:
    gr.Markdown(
        "Tải lên bộ câu hỏi (JSONL hoặc CSV). Với CSV, ghi ánh xạ cột, ví dụ `question=Câu hỏi,relevant=Mã`."
    )
    upload = gr.File(label="Tệp câu hỏi", file_types=[".jsonl", ".csv"], elem_id="eval-file")
    mapping = gr.Textbox(label="Ánh xạ cột CSV (không bắt buộc)", elem_id="eval-map")
    modes = gr.CheckboxGroup(list(EVAL_MODES), value=list(EVAL_MODES), label="Chế độ truy hồi")
    start = gr.Button("Chạy đánh giá", variant="primary", elem_id="eval-run")
    status = gr.Markdown(elem_id="eval-status")
    table = gr.Dataframe(headers=["Chỉ số", "Giá trị"], value=[], interactive=False, elem_id="eval-metrics")
    chart = gr.Image(label="Biểu đồ", type="filepath", elem_id="eval-chart")
    download = gr.File(label="Kết quả từng câu", elem_id="eval-download")

    def evaluate(file: str | None, map_text: str, chosen: list[str], progress=gr.Progress()):
        if not file:
            return "Chưa chọn tệp.", [], None, None
        pairs = [p.split("=", 1) for p in (map_text or "").split(",") if "=" in p]
        loaded = load_items(Path(file), {k.strip(): v.strip() for k, v in pairs})
        if not loaded.items:
            return "Không có câu hỏi hợp lệ. " + "; ".join(loaded.errors[:5]), [], None, None
        chosen = chosen or ["hybrid"]
        results = run(
            assistant,
            loaded.items,
            chosen,
            progress=False,
            on_progress=lambda done, total: progress(done / total, desc=f"{done}/{total} câu"),
        )
        summary = metrics(results, chosen)
        out = Path(tempfile.mkdtemp(prefix="eval-"))
        write_report(results, summary, chosen, out, [Path(file).name], loaded.errors)
        headline = sorted(
            (k for k in summary if not k.startswith("by_") and not k.endswith(".ci95")),
            key=lambda k: (not k.startswith(("answer.", "latency.", "retrieval.hybrid")), k),
        )
        rows = [
            [k, round(v, 3) if isinstance(v, float) else str(v)]
            for k, v in ((k, summary[k]) for k in headline)
        ]
        main = "hybrid" if "hybrid" in chosen else chosen[0]
        note = (
            f"Đã đánh giá {len(results)} câu hỏi: {main} hit@5 = "
            f"{summary.get(f'retrieval.{main}.hit@5', 0):.3f}, "
            f"độ phủ ý trả lời = {summary.get('answer.answer_point_recall', 0):.3f}."
        )
        if loaded.errors:
            note += f" Bỏ qua {len(loaded.errors)} dòng lỗi: " + "; ".join(loaded.errors[:3])
        return note, rows, str(out / "report.png"), str(out / "results.jsonl")

    start.click(evaluate, [upload, mapping, modes], [status, table, chart, download])


def _admin_tab(assistant: Assistant) -> None:
    settings = assistant.settings
    if not settings.admin_token:
        gr.Markdown(
            "Chức năng quản trị đang **tắt**. Để bật, đặt biến môi trường `ASSISTANT_ADMIN_TOKEN` "
            "(một chuỗi bí mật dài) rồi khởi động lại ứng dụng.",
            elem_id="admin-disabled",
        )
        return
    token = gr.Textbox(label="Mã quản trị", type="password", elem_id="admin-token")
    files = gr.File(label="Tài liệu (PDF, DOCX, MD, TXT, HTML)", file_count="multiple", elem_id="admin-files")
    ingest = gr.Button("Tải lên và cập nhật chỉ mục", variant="primary", elem_id="admin-ingest")
    stats = gr.Button("Xem thống kê chỉ mục", elem_id="admin-stats")
    result = gr.Markdown(elem_id="admin-result")
    uploads = settings.data_dir / "uploads"

    def authorised(given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), settings.admin_token.encode())

    def do_ingest(given: str, paths: list[str] | None, progress=gr.Progress()):
        if not authorised(given):
            return "⛔ Sai mã quản trị: không có gì được thay đổi."
        if not paths:
            return "Chưa chọn tệp."
        saved, refused = [], []
        for path in paths:
            original = Path(path).name
            try:
                data = Path(path).read_bytes()
                saved.append(save_upload(uploads, original, data, int(settings.max_upload_mb * 2**20)).name)
            except UploadError as exc:
                refused.append(f"- {html.escape(original)}: {html.escape(str(exc))}")
        report = assistant.ingest(
            [uploads], progress=False, on_progress=lambda d, t: progress(d / max(t, 1), desc="Nhúng văn bản")
        )
        lines = [
            html.escape(report.summary()),
            "",
            f"Đã lưu: {', '.join(map(html.escape, saved)) or 'không có'}",
        ]
        errors = refused + [f"- {html.escape(n)}: {html.escape(r)}" for n, r in report.failed]
        if errors:
            lines += ["", "**Lỗi theo tệp:**", *errors]
        return "\n".join(lines)

    def show_stats(given: str):
        if not authorised(given):
            return "⛔ Sai mã quản trị."
        return "\n".join(f"- **{k}:** {html.escape(str(v))}" for k, v in assistant.stats().items())

    ingest.click(do_ingest, [token, files], result)
    stats.click(show_stats, token, result)
