"""The lexical side of an index version: each chunk's text as BM25 and the accent restorer read it, both
BM25 fields (store/terms.py), and the accent model.

Normalising Vietnamese text (NFC, one tone-mark style, lower case) is the costly part of building them:
about 2.5 s for 17,700 chunks, on every version published. So a version keeps the forms it computed
(``lexical.txt``, ``lexical_folded.txt``, one chunk per line in row order) and the next version
normalises only its new chunks; the BM25 fields and the accent model are likewise updated with the
chunks dropped and added instead of being counted again over the whole index.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from langchain_core.documents import Document

from assistant.ingest.chunking import lexical_text
from assistant.store.accents import AccentModel
from assistant.store.lines import LineFile
from assistant.store.snapshot import Snapshot
from assistant.store.terms import TermIndex
from assistant.text import fold, normal_lower, words

NORMAL = "lexical.txt"  # normalised, lower case, line breaks written as '|' (a break for both readers)
FOLDED = "lexical_folded.txt"  # the folded words of the same line, one space between them
RAW_FIELD, FOLDED_FIELD = "terms_raw", "terms_folded"  # BM25 over accented and over folded words


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
    rows and then ``new_rows`` (the rows of ``dropped`` leave). Kept forms are copied as byte ranges
    (store/lines.py): decoding and encoding them again took 1.5 s at 112,000 chunks."""
    old_normal = old_folded = LineFile(b"")
    gone: list[str] = []
    base: AccentModel | None = None
    if previous is not None and (kept or dropped):
        old_normal, old_folded = _previous_forms(previous, same_pipeline)
        gone = [old_normal.line(r).decode() for r in dropped]
        if same_pipeline and previous.accents.updatable():
            base = previous.accents
    new = [chunk_form(r["text"], r["meta"]) for r in new_rows]
    new_folded = [folded_form(n) for n in new]
    _save_lines(staging / NORMAL, old_normal, kept, new)
    _save_lines(staging / FOLDED, old_folded, kept, new_folded)
    if previous is not None and kept and same_pipeline:
        raw_words, folded_words = _field_words(new, new_folded)
        previous.bm25_raw.extended(kept, raw_words, staging / RAW_FIELD)
        previous.bm25_folded.extended(kept, folded_words, staging / FOLDED_FIELD)
    else:
        _counted(_decoded(old_normal, kept) + new, _decoded(old_folded, kept) + new_folded, staging)
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
    normal, folded = _forms(path, texts, metadatas, read_files=True)
    return _counted(normal.texts(), folded.texts())


def _field_words(normal: list[str], folded: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    """How the two BM25 fields read chunks' forms: accented words, and the folded line's words."""
    return [words(n) for n in normal], [f.split() for f in folded]


def _counted(normal: list[str], folded: list[str], folder: Path | None = None) -> tuple[TermIndex, TermIndex]:
    """Both BM25 fields counted afresh over every chunk's forms (written into ``folder`` if given)."""
    raw_words, folded_words = _field_words(normal, folded)
    return (
        TermIndex.build(raw_words, folder and folder / RAW_FIELD),
        TermIndex.build(folded_words, folder and folder / FOLDED_FIELD),
    )


def _decoded(forms: LineFile, rows: list[int]) -> list[str]:
    return [forms.line(r).decode() for r in rows]


def _previous_forms(previous: Snapshot, same_pipeline: bool) -> tuple[LineFile, LineFile]:
    """The previous version's forms: read from its files unless another pipeline built it (its texts
    are then read the new way)."""
    return _forms(previous.path, previous.texts, previous.metadatas, read_files=same_pipeline)


def _forms(
    path: Path, texts: Sequence[str], metadatas: list[dict], read_files: bool
) -> tuple[LineFile, LineFile]:
    """A version's forms, mapped from its files or worked out when it has none (written before they
    were kept)."""
    if read_files and (path / NORMAL).exists() and (path / FOLDED).exists():
        normal, folded = LineFile.open(path / NORMAL), LineFile.open(path / FOLDED)
        if len(normal) == len(folded) == len(texts):
            return normal, folded
    forms = [chunk_form(t, m) for t, m in zip(texts, metadatas, strict=True)]
    return LineFile.of([f.encode() for f in forms]), LineFile.of([folded_form(f).encode() for f in forms])


def _save_lines(path: Path, old: LineFile, kept: list[int], new: list[str]) -> None:
    with path.open("wb") as out:
        old.copy_rows(kept, out)
        out.write("".join(f"{line}\n" for line in new).encode())
