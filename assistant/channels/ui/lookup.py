"""The staff look-up tab: accent-insensitive search with filters, a table, the full record, CSV export."""

from __future__ import annotations

import csv
import html

import gradio as gr

from assistant.catalogue import keeps
from assistant.channels.exports import new_export_dir
from assistant.channels.ui.render import portal_link
from assistant.errors import IndexUnavailable, QuestionError, UnknownFilter
from assistant.pipeline.retrieve import KINDS
from assistant.service import Assistant

LOOKUP_COLUMNS = ["Mã", "Tên thủ tục", "Lĩnh vực", "Cấp", "Lệ phí", "Thời hạn", "Nguồn"]
SOURCE_CHOICES = [
    ("Tất cả", ""),
    ("Có hướng dẫn", "guide"),
    ("Chỉ hồ sơ gốc", "record"),
    ("Hướng dẫn cần rà soát", "stale"),
]


def _source_label(row: dict) -> str:
    if row.get("has_guide"):
        label = "Hướng dẫn + hồ sơ gốc" if row.get("records") else "Hướng dẫn"
        return label + (" (cần rà soát)" if row.get("stale") else "")
    return "Hồ sơ gốc" if row.get("origin") == "record" else "Tài liệu"


def _lookup_rows(records: list[dict]) -> list[list[str]]:
    return [
        [r["code"], r["title"], r["field"], r["level"], r["fee"], r["processing_time"], _source_label(r)]
        for r in records
    ]


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
    if record.get("stale"):
        lines.append("- **Cần rà soát:** hồ sơ gốc đã thay đổi sau ngày hướng dẫn được kiểm tra.")
    for section in record["sections"]:
        lines += ["", f"### {esc(section['name'])}", "", esc(section["text"])]
    return "\n".join(lines)


def _official_markdown(record: dict | None, domains: list[str]) -> str:
    """The official records of a guide's codes, shown beside the guide."""
    if not record or not record.get("official"):
        return ""
    lines = []
    for official in record["official"]:
        lines += [f"## Văn bản gốc (mã {html.escape(official['code'])})", ""]
        if link := portal_link(official["url"], domains, "xem trên Cổng Dịch vụ công"):
            lines.append(f"- {link}")
        for section in official["sections"]:
            lines += ["", f"### {html.escape(section['name'])}", "", html.escape(section["text"])]
    return "\n".join(lines)


def lookup_tab(assistant: Assistant) -> None:
    try:
        records = assistant.list_documents()
    except IndexUnavailable:
        records = []
    fields = sorted({r["field"] for r in records if r["field"]})
    with gr.Row():
        query = gr.Textbox(label="Tìm thủ tục (có dấu hay không dấu)", elem_id="lookup-q", scale=3)
        field = gr.Dropdown(["", *fields], value="", label="Lĩnh vực", elem_id="lookup-field")
        level = gr.Dropdown(["", "Cấp xã", "Cấp tỉnh"], value="", label="Cấp", elem_id="lookup-level")
        kind = gr.Dropdown(["", *KINDS], value="", label="Loại", elem_id="lookup-kind")
        source = gr.Dropdown(SOURCE_CHOICES, value="", label="Nguồn", elem_id="lookup-source")
    search = gr.Button("Tìm", variant="primary", elem_id="lookup-search")
    table = gr.Dataframe(
        headers=LOOKUP_COLUMNS, value=[], interactive=False, wrap=True, elem_id="lookup-table"
    )
    found = gr.State([])
    export = gr.DownloadButton("Tải danh sách (CSV)", elem_id="lookup-export", visible=False)
    with gr.Row():
        detail = gr.Markdown(elem_id="lookup-detail")
        official = gr.Markdown(elem_id="lookup-official")

    def do_search(text: str, field_v: str, level_v: str, kind_v: str, source_v: str):
        filters = {"field": field_v, "level": level_v, "kind": kind_v}
        try:
            if (text or "").strip():
                hits = assistant.search(text, k=20, filters=filters).hits
                chosen = [assistant.document(h.doc_id) for h in hits]
                chosen = [r for r in chosen if r and keeps(r, source_v)]
            else:
                chosen = assistant.list_documents({**filters, "source": source_v or None})
        except (QuestionError, UnknownFilter, IndexUnavailable) as exc:
            return [], [], gr.update(visible=False), f"Lỗi: {html.escape(str(exc))}"
        summaries = [{k: v for k, v in r.items() if k not in ("sections", "official")} for r in chosen if r]
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
            return "", ""
        whole = assistant.document(summaries[row]["doc_id"])
        domains = assistant.settings.link_domains
        return _record_markdown(whole, domains), _official_markdown(whole, domains)

    inputs = [query, field, level, kind, source]
    search.click(do_search, inputs, [table, found, export, detail])
    query.submit(do_search, inputs, [table, found, export, detail])
    table.select(open_record, [found], [detail, official])
