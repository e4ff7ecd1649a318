"""The lexical side of an index version: each chunk's text as BM25 and the accent restorer read it, both
BM25 fields, and the accent model.

Normalising Vietnamese text (NFC, one tone-mark style, lower case) is the costly part of building them:
about 2.5 s for 17,700 chunks, on every version published. So a version keeps the forms it computed
(``lexical.txt``, ``lexical_folded.txt``, one chunk per line in row order) and the next version
normalises only its new chunks; the accent model is likewise updated with the chunks dropped and added
instead of being counted again over the whole index.
"""

from __future__ import annotations

from pathlib import Path

import bm25s
from langchain_core.documents import Document

from assistant.ingest.chunking import lexical_text
from assistant.store.accents import AccentModel
from assistant.store.snapshot import Snapshot
from assistant.text import fold, normal_lower, words

NORMAL = "lexical.txt"  # normalised, lower case, line breaks written as '|' (a break for both readers)
FOLDED = "lexical_folded.txt"  # the folded words of the same line, one space between them


def chunk_form(text: str, meta: dict) -> str:
    return normal_lower(lexical_text(Document(page_content=text, metadata=meta))).replace("\n", "|")


def folded_form(normal: str) -> str:
    return " ".join(fold(w) for w in words(normal))


def write(
    staging: Path,
    new_rows: list[dict],
    previous: Snapshot | None,
    kept: list[int],
    dropped: list[int],
    same_pipeline: bool,
) -> None:
    """The forms, BM25 fields and accent model of a version serving the previous version's ``kept``
    rows and then ``new_rows`` (the rows of ``dropped`` leave)."""
    normal: list[str] = []
    folded: list[str] = []
    gone: list[str] = []
    base: AccentModel | None = None
    if previous is not None and (kept or dropped):
        old_normal, old_folded = _previous_forms(previous, same_pipeline)
        normal = [old_normal[r] for r in kept]
        folded = [old_folded[r] for r in kept]
        gone = [old_normal[r] for r in dropped]
        if same_pipeline and previous.accents.updatable():
            base = previous.accents
    new = [chunk_form(r["text"], r["meta"]) for r in new_rows]
    normal += new
    folded += [folded_form(n) for n in new]
    _save_lines(staging / NORMAL, normal)
    _save_lines(staging / FOLDED, folded)
    fields = (("bm25_raw", [words(n) for n in normal]), ("bm25_folded", [f.split() for f in folded]))
    for name, corpus in fields:
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        bm25.save(str(staging / name), show_progress=False)
    accents = base.updated(gone, new) if base is not None else AccentModel.build(normal, normalized=True)
    accents.save(staging / "accents.pkl")


def _previous_forms(previous: Snapshot, same_pipeline: bool) -> tuple[list[str], list[str]]:
    """The previous version's forms: read from its files, or computed when it has none (written before
    they were kept) or was built by another pipeline (its texts are then read the new way)."""
    count = len(previous.ids)
    if same_pipeline:
        normal = _read_lines(previous.path / NORMAL, count)
        folded = _read_lines(previous.path / FOLDED, count)
        if normal is not None and folded is not None:
            return normal, folded
    normal = [chunk_form(t, m) for t, m in zip(previous.texts, previous.metadatas, strict=True)]
    return normal, [folded_form(n) for n in normal]


def _save_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _read_lines(path: Path, count: int) -> list[str] | None:
    try:
        lines = path.read_text(encoding="utf-8").split("\n")[:-1]
    except OSError:
        return None
    return lines if len(lines) == count else None
