"""The staff catalogue: one row per procedure, whatever its sources (a curated guide, the official record
of its portal code, or both), and whole records with the guide and the record side by side."""

from __future__ import annotations

import numpy as np

from assistant.errors import UnknownFilter
from assistant.ingest.loaders import SUMMARY_SECTION
from assistant.pipeline.passages import document_sections
from assistant.store.snapshot import Snapshot

ROW_KEYS = ("doc_id", "title", "kind", "field", "level", "code", "url", "source", "origin")
CARD_KEYS = {
    "Phí, lệ phí": "fee",
    "Thời hạn giải quyết": "processing_time",
    "Cơ quan, nơi nộp": "agency",
    "Nộp trực tuyến": "online",
}
SOURCES = ("guide", "record", "stale")  # has a guide / official record only / guide may be out of date


def summary_row(snapshot: Snapshot, doc_id: str, stale: set[str] | None = None) -> dict[str, object]:
    """A document's metadata plus the short facts of its card (fee, time, agency, online filing)."""
    meta = snapshot.doc_meta(doc_id)
    card = {}
    for row in snapshot.doc_chunks(doc_id):
        if snapshot.metadatas[row]["section"] == SUMMARY_SECTION:
            for line in snapshot.texts[row].splitlines():
                label, _, value = line.lstrip("- ").partition(": ")
                card[label] = value
    records = snapshot.records_of.get(doc_id, [])
    codes = set(meta.get("code", "").split(", "))
    return {
        **{key: meta.get(key, "") for key in ROW_KEYS},
        **{name: card.get(label, "") for label, name in CARD_KEYS.items()},
        "has_guide": meta.get("origin") == "guide",
        "records": records,
        "stale": bool(stale and codes & stale),
    }


def record(snapshot: Snapshot, doc_id: str, stale: set[str] | None = None) -> dict[str, object] | None:
    """A whole document: its row, every section in order (the card aside) and, for a guide, the
    official records of its codes with theirs."""
    if not snapshot.doc_chunks(doc_id):
        return None
    found = summary_row(snapshot, doc_id, stale)
    found["sections"] = _sections(snapshot, doc_id)
    found["official"] = [
        {
            "doc_id": r,
            "code": snapshot.doc_meta(r).get("code", ""),
            "url": snapshot.doc_meta(r).get("url", ""),
            "sections": _sections(snapshot, r),
        }
        for r in snapshot.records_of.get(doc_id, [])
    ]
    found["guide"] = snapshot.guide_of.get(doc_id, "")
    return found


def rows(
    snapshot: Snapshot, mask: np.ndarray | None, source: str | None = None, stale: set[str] | None = None
) -> list[dict[str, object]]:
    """One row per procedure the filter mask keeps (a record with a guide is shown as the guide)."""
    if source and source not in SOURCES:
        raise UnknownFilter(f"nguồn '{source}' không tồn tại; dùng: {', '.join(SOURCES)}")
    found = []
    for doc_id, chunk_rows in snapshot.rows_of_doc.items():
        if doc_id in snapshot.guide_of or (mask is not None and not mask[chunk_rows[0]]):
            continue
        row = summary_row(snapshot, doc_id, stale)
        if keeps(row, source):
            found.append(row)
    return found


def keeps(row: dict[str, object], source: str | None) -> bool:
    """Whether a row passes the source filter: has a guide, official record only, or stale guide."""
    if not source:
        return True
    return {"guide": row["has_guide"], "record": row["origin"] == "record", "stale": row["stale"]}[source]


def _sections(snapshot: Snapshot, doc_id: str) -> list[dict[str, str]]:
    return [
        {"name": name, "text": text}
        for _, name, text in document_sections(snapshot, doc_id)
        if name != SUMMARY_SECTION
    ]
