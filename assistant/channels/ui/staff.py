"""The staff tabs behind the admin token: batch evaluation of an FAQ file, and uploads with ingest."""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder, is_in_or_equal

from assistant.channels.access import admin_enabled, token_ok
from assistant.channels.exports import new_export_dir
from assistant.evaluation.faq import load_items
from assistant.evaluation.metrics import metrics
from assistant.evaluation.report import write_report
from assistant.evaluation.runner import EVAL_MODES, run
from assistant.service import Assistant


def _uploaded_here(path: str | None) -> bool:
    """True for a file in Gradio's own upload folder: what a browser uploaded, never another path on
    the server that a crafted request names."""
    return bool(path) and is_in_or_equal(Path(path).resolve(), Path(get_upload_folder()).resolve())


def staff_only_note(elem_id: str) -> None:
    gr.Markdown(
        "Chức năng này dành cho cán bộ và đang **tắt**. Để bật, đặt biến môi trường "
        "`ASSISTANT_ADMIN_TOKEN` (một chuỗi bí mật dài) rồi khởi động lại ứng dụng.",
        elem_id=elem_id,
    )


def eval_tab(assistant: Assistant) -> None:
    settings = assistant.settings
    if not admin_enabled(settings):
        staff_only_note("eval-disabled")
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


def admin_tab(assistant: Assistant) -> None:
    settings = assistant.settings
    if not admin_enabled(settings):
        staff_only_note("admin-disabled")
        return
    token = gr.Textbox(label="Mã quản trị", type="password", elem_id="admin-token")
    files = gr.File(label="Tài liệu (PDF, DOCX, MD, TXT, HTML)", file_count="multiple", elem_id="admin-files")
    ingest = gr.Button("Tải lên và cập nhật chỉ mục", variant="primary", elem_id="admin-ingest")
    stats = gr.Button("Xem thống kê chỉ mục", elem_id="admin-stats")
    sync = gr.Button(
        "Đối chiếu hồ sơ thủ tục chính thức", elem_id="admin-sync", visible=bool(settings.records_dir)
    )
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

    def do_sync(given: str):
        if not token_ok(settings, given):
            return "⛔ Sai mã quản trị."
        report, ingest = assistant.sync_records(settings.records_dir)
        return sync_markdown(report, ingest)

    ingest.click(do_ingest, [token, files], result)
    stats.click(show_stats, token, result)
    sync.click(do_sync, token, result)


SYNC_HEADINGS = {
    "new": "Hồ sơ mới",
    "changed": "Hồ sơ đã thay đổi",
    "removed": "Hồ sơ đã bị gỡ",
    "stale": "Hướng dẫn cần rà soát (hồ sơ gốc thay đổi sau ngày kiểm tra)",
    "uncovered": "Thủ tục cấp xã chưa có hướng dẫn",
}


def sync_markdown(report, ingest) -> str:
    """The records sync report as staff read it: counts, then up to 30 procedures of each kind."""
    data = report.as_dict()
    lines = [f"Đối chiếu xong trong {report.seconds:.1f} s."]
    for key, heading in SYNC_HEADINGS.items():
        rows = data[key]
        lines += ["", f"**{heading}: {len(rows)}**"]
        lines += [f"- {html.escape(r['code'])} {html.escape(r['title'])}" for r in rows[:30]]
    if ingest is not None:
        lines += ["", html.escape(ingest.summary())]
    return "\n".join(lines)
