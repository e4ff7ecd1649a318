"""The staff catalogue: documents as lookup-table rows (code, title, field, level, fee, time, source)
and whole records, read from one snapshot."""

from __future__ import annotations

import numpy as np

from assistant.ingest.loaders import SUMMARY_SECTION
from assistant.pipeline.passages import document_sections
from assistant.store.snapshot import Snapshot

ROW_KEYS = ("doc_id", "title", "kind", "field", "level", "code", "url", "source")


def summary_row(snapshot: Snapshot, doc_id: str) -> dict[str, object]:
    """A document's metadata plus the fee and time of its card (guides carry one; records may not)."""
    meta = snapshot.doc_meta(doc_id)
    card = {}
    for row in snapshot.doc_chunks(doc_id):
        if snapshot.metadatas[row]["section"] == SUMMARY_SECTION:
            for line in snapshot.texts[row].splitlines():
                label, _, value = line.lstrip("- ").partition(": ")
                card[label] = value
    return {
        **{key: meta.get(key, "") for key in ROW_KEYS},
        "fee": card.get("Phí, lệ phí", ""),
        "processing_time": card.get("Thời hạn giải quyết", ""),
    }


def record(snapshot: Snapshot, doc_id: str) -> dict[str, object] | None:
    """A whole document: its row, then every section in order (the card aside)."""
    if not snapshot.doc_chunks(doc_id):
        return None
    found = summary_row(snapshot, doc_id)
    found["sections"] = [
        {"name": name, "text": text}
        for _, name, text in document_sections(snapshot, doc_id)
        if name != SUMMARY_SECTION
    ]
    return found


def rows(snapshot: Snapshot, mask: np.ndarray | None) -> list[dict[str, object]]:
    """Every document the filter mask keeps, as lookup-table rows."""
    return [
        summary_row(snapshot, doc_id)
        for doc_id, chunk_rows in snapshot.rows_of_doc.items()
        if mask is None or mask[chunk_rows[0]]
    ]
