"""The Thống kê tab (staff, behind the admin token): questions per day by status, top procedures, refusal
and clarification rates, latency, feedback per procedure, the 👎 comments, content gaps, CSV export."""

from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from assistant.channels.access import admin_enabled, token_ok
from assistant.channels.exports import new_export_dir
from assistant.channels.ui.staff import staff_only_note
from assistant.errors import BadInput, IndexUnavailable, InsightUnavailable
from assistant.insight import analytics
from assistant.service import Assistant

CHANNEL_CHOICES = [("Tất cả", ""), ("Web", "web"), ("API", "api"), ("Dòng lệnh", "cli")]
STATUS_NAMES = {"answered": "trả lời", "clarify": "hỏi lại", "refused": "từ chối"}
GAP_COLUMNS = ["Chủ đề", "Số lần hỏi", "Thủ tục gần nhất", "Ví dụ", "Đã xử lý", "Mã nhóm"]


def insight_tab(assistant: Assistant) -> None:
    if not admin_enabled(assistant.settings):
        staff_only_note("insight-disabled")
        return
    with gr.Row():
        token = gr.Textbox(label="Mã quản trị", type="password", elem_id="insight-token")
        start = gr.Textbox(label="Từ ngày (YYYY-MM-DD)", elem_id="insight-from")
        end = gr.Textbox(label="Đến ngày (YYYY-MM-DD)", elem_id="insight-to")
        channel = gr.Dropdown(CHANNEL_CHOICES, value="", label="Kênh", elem_id="insight-channel")
    show = gr.Button("Xem thống kê", variant="primary", elem_id="insight-show")
    headline = gr.Markdown(elem_id="insight-summary")
    with gr.Row():
        daily = gr.LinePlot(
            x="day", y="count", color="status", title="Câu hỏi mỗi ngày", elem_id="insight-daily"
        )
        rates = gr.LinePlot(
            x="day", y="rate", color="kind", title="Tỉ lệ từ chối, hỏi lại", elem_id="insight-rates"
        )
    top = gr.BarPlot(x="title", y="count", title="Thủ tục được hỏi nhiều nhất", elem_id="insight-top")
    feedback = gr.Dataframe(headers=["Thủ tục", "👍", "👎"], interactive=False, elem_id="insight-feedback")
    downvoted = gr.Dataframe(
        headers=["Ngày", "Câu hỏi", "Thủ tục", "Góp ý"], interactive=False, elem_id="insight-down"
    )
    gr.Markdown("### Nội dung còn thiếu: câu hỏi bị từ chối hoặc phải hỏi lại, gom theo chủ đề")
    gaps = gr.Dataframe(headers=GAP_COLUMNS, interactive=False, wrap=True, elem_id="insight-gaps")
    with gr.Row():
        key = gr.Textbox(label="Mã nhóm đã xử lý (đã viết hướng dẫn)", elem_id="insight-gap-key")
        handled = gr.Button("Đánh dấu đã xử lý", elem_id="insight-gap-handled")
    export = gr.DownloadButton("Tải nhật ký câu hỏi (CSV)", visible=False, elem_id="insight-export")

    def refresh(given: str, from_day: str, to_day: str, channel_v: str):
        if not token_ok(assistant.settings, given):
            return ["⛔ Sai mã quản trị.", *[None] * 6, gr.update(visible=False)]
        try:
            return _views(assistant, from_day, to_day, channel_v)
        except (BadInput, InsightUnavailable, IndexUnavailable) as exc:
            return [f"Lỗi: {html.escape(str(exc))}", *[None] * 6, gr.update(visible=False)]

    def mark(given: str, gap_key: str, from_day: str, to_day: str, channel_v: str):
        if token_ok(assistant.settings, given) and gap_key.strip():
            assistant.insight.mark_handled(gap_key.strip())
        return refresh(given, from_day, to_day, channel_v)

    outputs = [headline, daily, rates, top, feedback, downvoted, gaps, export]
    show.click(refresh, [token, start, end, channel], outputs)
    handled.click(mark, [token, key, start, end, channel], outputs)


def _views(assistant: Assistant, from_day: str, to_day: str, channel: str) -> list:
    summary = assistant.insight.summary(from_day or None, to_day or None, channel or None)
    rows = assistant.insight.rows(from_day or None, to_day or None, channel or None)
    days = summary["per_day"]
    daily = pd.DataFrame(
        [{"day": d["day"], "status": STATUS_NAMES[s], "count": d[s]} for d in days for s in STATUS_NAMES],
        columns=["day", "status", "count"],
    )
    rates = pd.DataFrame(
        [{"day": d["day"], "kind": k, "rate": d[f"{k}_rate"]} for d in days for k in ("refusal", "clarify")],
        columns=["day", "kind", "rate"],
    )
    top = pd.DataFrame(summary["top_procedures"], columns=["doc_id", "title", "count"])
    feedback = [[r["title"], r["up"], r["down"]] for r in analytics.feedback_by_procedure(rows)]
    down = [[r["at"], r["question"], r["title"], r["comment"]] for r in analytics.downvotes(rows)]
    gaps = assistant.insight.gaps(from_day or None, to_day or None)
    gap_rows = [
        [
            g["label"],
            g["count"],
            "; ".join(n["title"] for n in g["nearest"]),
            " | ".join(g["examples"][:3]),
            "✓" if g["handled"] else "",
            g["key"],
        ]
        for g in gaps["gaps"]
    ]
    path = new_export_dir(assistant.settings.data_dir, "nhat-ky") / "cau-hoi.csv"
    path.write_text(analytics.csv_text(rows), encoding="utf-8")
    return [
        _headline(summary, gaps),
        daily,
        rates,
        top,
        feedback,
        down,
        gap_rows,
        gr.update(value=str(path), visible=True),
    ]


def _headline(summary: dict, gaps: dict) -> str:
    status = summary["by_status"]
    channels = ", ".join(f"{k}: {v}" for k, v in summary["by_channel"].items()) or "–"
    lines = [
        f"**{summary['total']} câu hỏi** — trả lời {status['answered']}, hỏi lại {status['clarify']}, "
        f"từ chối {status['refused']}; theo kênh: {html.escape(channels)}.",
        f"Thời gian trả lời (trung vị): {summary['median_latency_ms']} ms. "
        f"Đánh giá: 👍 {summary['feedback']['up']}, 👎 {summary['feedback']['down']}.",
    ]
    if gaps["stale_guides"]:
        stale = "; ".join(html.escape(f"{g['code']} {g['title']}") for g in gaps["stale_guides"])
        lines.append(f"**Hướng dẫn cần rà soát** (hồ sơ gốc đã thay đổi): {stale}")
    return "\n\n".join(lines)
