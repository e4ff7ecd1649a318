"""The Gradio web app: citizen chat, staff lookup, batch evaluation and admin ingest.

Every tab calls the shared ``Assistant`` and nothing else. Text that users or documents supply is
escaped before it is shown, so no one can inject HTML into the page.
"""

from __future__ import annotations

import csv
import html
import uuid
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder, is_in_or_equal

from assistant.access import admin_enabled, token_ok
from assistant.answer import Answer
from assistant.evaluation import EVAL_MODES, load_items, metrics, run, write_report
from assistant.exports import new_export_dir
from assistant.feedback import FeedbackStore
from assistant.index import IndexError_
from assistant.render import safe_html
from assistant.retrieval import KINDS, UnknownFilter
from assistant.sanitize import allowed_link
from assistant.service import Assistant, QuestionError

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


def portal_link(url: str, domains: list[str], label: str) -> str:
    """A link to an allowed portal domain, or nothing: a document cannot make the chat link elsewhere."""
    if not allowed_link(url, domains):
        return ""
    return f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{html.escape(label)}</a>'


def citations_html(answer: Answer, domains: list[str]) -> str:
    """Numbered, expandable citations; every piece of document text is escaped."""
    if not answer.citations:
        return ""
    parts = ["<p><strong>Nguồn trích dẫn:</strong></p>"]
    for c in answer.citations:
        link = portal_link(c.url, domains, "xem trên cổng")
        parts.append(
            f'<details class="citation" id="cite-{c.n}"><summary>[{c.n}] {html.escape(c.title)} — '
            f"{html.escape(c.section)}</summary><blockquote>{html.escape(c.quote)}</blockquote>"
            f"<small>{html.escape(c.source)}{' — ' + link if link else ''}</small></details>"
        )
    return "".join(parts)


def answer_message(answer: Answer, domains: list[str]) -> str:
    """The chat bubble of a finished answer: its text as safe HTML, then its citations."""
    return safe_html(answer.text).removesuffix("</div>") + citations_html(answer, domains) + "</div>"


def _message_text(content: object) -> str:
    """Gradio 6 may hand message content over as a list of parts."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def build_app(assistant: Assistant) -> gr.Blocks:
    # Files Gradio keeps (uploads, downloads) are deleted an hour after they were made.
    with gr.Blocks(title="Trợ lý ảo hành chính TP.HCM", delete_cache=(3600, 3600)) as app:
        gr.Markdown(
            "# Trợ lý ảo hành chính TP.HCM\nHỏi về thủ tục hành chính bằng tiếng Việt, có dấu hay không dấu "
            "đều được. Câu trả lời trích nguyên văn từ tài liệu và ghi rõ nguồn. Tổng đài hỗ trợ: **1022**."
        )
        with gr.Tab("Hỏi đáp", id="chat-tab"):
            _chat_tab(assistant, assistant.feedback)
        with gr.Tab("Tra cứu thủ tục", id="lookup-tab"):
            _lookup_tab(assistant)
        with gr.Tab("Đánh giá", id="eval-tab"):
            _eval_tab(assistant)
        with gr.Tab("Quản trị", id="admin-tab"):
            _admin_tab(assistant)
    return app


def _chat_tab(assistant: Assistant, feedback: FeedbackStore) -> None:
    domains = assistant.settings.link_domains
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
        history.append({"role": "user", "content": safe_html(question)})
        history.append({"role": "assistant", "content": ""})
        streamed = ""
        try:
            for part in assistant.ask_stream(question, session_id=session_id):
                if isinstance(part, Answer):
                    history[-1]["content"] = answer_message(part, domains)
                    choices = [f"{o.n}. {o.title}" for o in part.options]
                    radio = gr.update(choices=choices, value=None, visible=bool(choices))
                    yield history, "", radio, {"question": question, "answer": part.text}
                else:
                    streamed += part
                    history[-1]["content"] = safe_html(streamed)
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


def _record_markdown(record: dict | None, domains: list[str]) -> str:
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
    if link := portal_link(record["url"], domains, record["url"]):
        lines.append(f"- **Cổng Dịch vụ công:** {link}")
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
        except (QuestionError, UnknownFilter, IndexError_) as exc:
            return [], [], gr.update(visible=False), f"Lỗi: {html.escape(str(exc))}"
        summaries = [{k: v for k, v in r.items() if k != "sections"} for r in chosen if r]
        path = new_export_dir(assistant.settings.data_dir, "tra-cuu") / "tra-cuu-thu-tuc.csv"
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
        return _record_markdown(assistant.document(summaries[row]["doc_id"]), assistant.settings.link_domains)

    inputs = [query, field, level, kind]
    search.click(do_search, inputs, [table, found, export, detail])
    query.submit(do_search, inputs, [table, found, export, detail])
    table.select(open_record, [found], detail)


def _uploaded_here(path: str | None) -> bool:
    """True for a file in Gradio's own upload folder: what a browser uploaded, never another path on
    the server that a crafted request names."""
    return bool(path) and is_in_or_equal(Path(path).resolve(), Path(get_upload_folder()).resolve())


def _staff_only_note(elem_id: str) -> None:
    gr.Markdown(
        "Chức năng này dành cho cán bộ và đang **tắt**. Để bật, đặt biến môi trường "
        "`ASSISTANT_ADMIN_TOKEN` (một chuỗi bí mật dài) rồi khởi động lại ứng dụng.",
        elem_id=elem_id,
    )


def _eval_tab(assistant: Assistant) -> None:
    settings = assistant.settings
    if not admin_enabled(settings):
        _staff_only_note("eval-disabled")
        return
    gr.Markdown(
        "Tải lên bộ câu hỏi (JSONL hoặc CSV). Với CSV, ghi ánh xạ cột, ví dụ `question=Câu hỏi,relevant=Mã`. "
        f"Mỗi lần chạy tối đa {settings.eval_max_questions} câu."
    )
    token = gr.Textbox(label="Mã quản trị", type="password", elem_id="eval-token")
    upload = gr.File(label="Tệp câu hỏi", file_types=[".jsonl", ".csv"], elem_id="eval-file")
    uploaded = gr.State(None)  # the file this session uploaded, kept on the server side
    mapping = gr.Textbox(label="Ánh xạ cột CSV (không bắt buộc)", elem_id="eval-map")
    modes = gr.CheckboxGroup(list(EVAL_MODES), value=list(EVAL_MODES), label="Chế độ truy hồi")
    start = gr.Button("Chạy đánh giá", variant="primary", elem_id="eval-run")
    status = gr.Markdown(elem_id="eval-status")
    table = gr.Dataframe(headers=["Chỉ số", "Giá trị"], value=[], interactive=False, elem_id="eval-metrics")
    chart = gr.Image(label="Biểu đồ", type="filepath", elem_id="eval-chart")
    download = gr.File(label="Kết quả từng câu", elem_id="eval-download")

    def remember(file: str | None):
        return file if _uploaded_here(file) else None

    def evaluate(given: str, file: str | None, map_text: str, chosen: list[str], progress=gr.Progress()):
        if not token_ok(settings, given):
            return "⛔ Sai mã quản trị: đánh giá không chạy.", [], None, None
        if not _uploaded_here(file):
            return "Chưa chọn tệp.", [], None, None
        pairs = [p.split("=", 1) for p in (map_text or "").split(",") if "=" in p]
        loaded = load_items(Path(file), {k.strip(): v.strip() for k, v in pairs})
        if not loaded.items:
            return "Không có câu hỏi hợp lệ. " + html.escape("; ".join(loaded.errors[:5])), [], None, None
        if len(loaded.items) > settings.eval_max_questions:
            note = (
                f"Tệp có {len(loaded.items)} câu, vượt giới hạn {settings.eval_max_questions} câu mỗi lần "
                "chạy: hãy chia nhỏ tệp, hoặc dùng lệnh `assistant eval` trên máy chủ."
            )
            return note, [], None, None
        chosen = chosen or ["hybrid"]
        results = run(
            assistant,
            loaded.items,
            chosen,
            progress=False,
            on_progress=lambda done, total: progress(done / total, desc=f"{done}/{total} câu"),
        )
        summary = metrics(results, chosen)
        out = new_export_dir(settings.data_dir, "danh-gia")
        write_report(results, summary, chosen, out, [Path(file).name], loaded.errors)
        return (
            _eval_note(summary, chosen, len(results), loaded.errors),
            _metric_rows(summary),
            (str(out / "report.png")),
            str(out / "results.jsonl"),
        )

    upload.upload(remember, upload, uploaded)
    upload.clear(lambda: None, None, uploaded)
    start.click(evaluate, [token, uploaded, mapping, modes], [status, table, chart, download])


def _metric_rows(summary: dict) -> list[list[object]]:
    headline = sorted(
        (k for k in summary if not k.startswith("by_") and not k.endswith(".ci95")),
        key=lambda k: (not k.startswith(("answer.", "latency.", "retrieval.hybrid")), k),
    )
    return [
        [k, round(v, 3) if isinstance(v, float) else str(v)] for k, v in ((k, summary[k]) for k in headline)
    ]


def _eval_note(summary: dict, chosen: list[str], count: int, errors: list[str]) -> str:
    main = "hybrid" if "hybrid" in chosen else chosen[0]
    note = (
        f"Đã đánh giá {count} câu hỏi: {main} hit@5 = "
        f"{summary.get(f'retrieval.{main}.hit@5', 0):.3f}, "
        f"độ phủ ý trả lời = {summary.get('answer.answer_point_recall', 0):.3f}."
    )
    if errors:
        note += f" Bỏ qua {len(errors)} dòng lỗi: " + html.escape("; ".join(errors[:3]))
    return note


def _admin_tab(assistant: Assistant) -> None:
    settings = assistant.settings
    if not admin_enabled(settings):
        _staff_only_note("admin-disabled")
        return
    token = gr.Textbox(label="Mã quản trị", type="password", elem_id="admin-token")
    files = gr.File(label="Tài liệu (PDF, DOCX, MD, TXT, HTML)", file_count="multiple", elem_id="admin-files")
    ingest = gr.Button("Tải lên và cập nhật chỉ mục", variant="primary", elem_id="admin-ingest")
    stats = gr.Button("Xem thống kê chỉ mục", elem_id="admin-stats")
    result = gr.Markdown(elem_id="admin-result")

    def do_ingest(given: str, paths: list[str] | None, progress=gr.Progress()):
        if not token_ok(settings, given):
            return "⛔ Sai mã quản trị: không có gì được thay đổi."
        paths = [p for p in paths or [] if _uploaded_here(p)]
        if not paths:
            return "Chưa chọn tệp."
        outcome, report = assistant.add_documents(
            [(Path(p).name, Path(p).read_bytes()) for p in paths],
            on_progress=lambda d, t: progress(d / max(t, 1), desc="Nhúng văn bản"),
        )
        esc = html.escape
        lines = [esc(report.summary()), "", f"Đã lưu: {', '.join(map(esc, outcome.saved)) or 'không có'}"]
        errors = [f"- {esc(n)}: {esc(str(e))}" for n, e in outcome.refused]
        errors += [f"- {esc(n)}: {esc(r)} (đã chuyển sang thư mục rejected)" for n, r in outcome.unreadable]
        if errors:
            lines += ["", "**Lỗi theo tệp:**", *errors]
        if report.warnings:
            lines += ["", "**Cảnh báo:**", *(f"- {esc(n)}: {esc(r)}" for n, r in report.warnings)]
        return "\n".join(lines)

    def show_stats(given: str):
        if not token_ok(settings, given):
            return "⛔ Sai mã quản trị."
        return "\n".join(f"- **{k}:** {html.escape(str(v))}" for k, v in assistant.stats().items())

    ingest.click(do_ingest, [token, files], result)
    stats.click(show_stats, token, result)
