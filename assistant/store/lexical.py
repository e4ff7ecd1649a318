"""The lexical side of an index version: each chunk's text as BM25 and the accent restorer read it, both
BM25 fields (store/terms.py), and the accent model.

Normalising Vietnamese text (NFC, one tone-mark style, lower case) is the costly part of building them:
about 2.5 s for 17,700 chunks, on every version published. So a version keeps the forms it computed
(one chunk per line, in the index's lexical pack, store/lines.py) and the next version normalises only its new
chunks; the BM25 fields and the accent model are likewise updated with the chunks dropped and added
instead of being counted again over the whole index. The stored counts mean the forms are read back
only for the chunks a publish drops (the accent model forgets them) and to count a version published
before counts were stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from assistant.ingest.chunking import lexical_text
from assistant.store import lines
from assistant.store.accents import AccentModel
from assistant.store.lines import LineFile
from assistant.store.snapshot import Snapshot
from assistant.store.terms import TermIndex
from assistant.text import fold, normal_lower, words

KIND = "lexical"  # the forms' pack kind (store/lines.py): normalised, lower case, line breaks as '|'
NORMAL = "lexical.txt"  # the forms in a version of their own, as versions before packs kept them
NORMAL_STARTS = "lexical_offsets.npy"  # where each line of it starts
RAW_FIELD, FOLDED_FIELD = "terms_raw", "terms_folded"  # BM25 over accented and over folded words


def chunk_form(text: str, meta: dict) -> str:
    return normal_lower(lexical_text(Document(page_content=text, metadata=meta))).replace("\n", "|")


def folded_form(normal: str) -> str:
    return " ".join(fold(w) for w in words(normal))


def write(
    staging: Path,
    name: str,
    new_rows: list[dict],
    previous: Snapshot | None,
    kept: list[int],
    dropped: list[int],
    same_pipeline: bool,
) -> None:
    """The forms, BM25 fields and accent model of a version serving the previous version's ``kept``
    rows and then ``new_rows`` (the rows of ``dropped`` leave), built in ``staging`` as version
    ``name``. Kept forms stay where they are in the pack (store/lines.py); only new ones are written."""
    old_normal = LineFile(b"")
    gone: list[str] = []
    base: AccentModel | None = None
    if previous is not None and (kept or dropped):
        old_normal = _previous_forms(previous, same_pipeline)
        gone = [old_normal.line(r).decode() for r in dropped]
        if same_pipeline and previous.accents.updatable():
            base = previous.accents
    new = [chunk_form(r["text"], r["meta"]) for r in new_rows]
    lines.write_packed(staging, name, KIND, old_normal, kept, [f"{n}\n".encode() for n in new])
    if previous is not None and kept and same_pipeline:
        raw_words, folded_words = _field_words(new)
        previous.bm25_raw.extended(kept, raw_words, staging / RAW_FIELD)
        previous.bm25_folded.extended(kept, folded_words, staging / FOLDED_FIELD)
    else:
        _counted(_decoded(old_normal, kept) + new, staging)
    if base is not None:
        accents = base.updated(gone, new)
    else:
        accents = AccentModel.build(_decoded(old_normal, kept) + new, normalized=True)
    accents.save(staging / "accents.pkl")


def fields(path: Path, texts: Sequence[str], metadatas: list[dict]) -> tuple[TermIndex, TermIndex]:
    """A version's two BM25 fields, memory-mapped; counted here from its forms for a version published
    before they were stored this way (the next publish stores them)."""
    if (path / RAW_FIELD).exists() and (path / FOLDED_FIELD).exists():
        return TermIndex.load(path / RAW_FIELD), TermIndex.load(path / FOLDED_FIELD)
    return _counted(_forms(path, texts, metadatas, read_files=True).texts())


def _field_words(normal: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    """How the two BM25 fields read chunks' normal forms: accented words, and folded ones."""
    return [words(n) for n in normal], [folded_form(n).split() for n in normal]


def _counted(normal: list[str], folder: Path | None = None) -> tuple[TermIndex, TermIndex]:
    """Both BM25 fields counted afresh over chunks' normal forms (written into ``folder`` if given)."""
    raw_words, folded_words = _field_words(normal)
    return (
        TermIndex.build(raw_words, folder and folder / RAW_FIELD),
        TermIndex.build(folded_words, folder and folder / FOLDED_FIELD),
    )


def _decoded(forms: LineFile, rows: list[int]) -> list[str]:
    return [forms.line(r).decode() for r in rows]


def _previous_forms(previous: Snapshot, same_pipeline: bool) -> LineFile:
    """The previous version's forms: read from where it keeps them unless another pipeline built it
    (its texts are then read the new way)."""
    return _forms(previous.path, previous.texts, previous.metadatas, read_files=same_pipeline)


def _forms(path: Path, texts: Sequence[str], metadatas: list[dict], read_files: bool) -> LineFile:
    """A version's forms, mapped from the pack or from a file of its own (versions before packs), or
    worked out when it has neither (written before they were kept)."""
    normal = lines.open_packed(path, KIND) if read_files else None
    if normal is None and read_files and (path / NORMAL).exists():
        starts = np.load(path / NORMAL_STARTS) if (path / NORMAL_STARTS).exists() else None
        normal = LineFile.contiguous(path / NORMAL, starts)
    if normal is not None and len(normal) == len(texts):
        return normal
    return LineFile.of([chunk_form(t, m).encode() for t, m in zip(texts, metadatas, strict=True)])
