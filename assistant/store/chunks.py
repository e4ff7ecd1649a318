"""A version's chunks as a searching process holds them: ids and metadata in memory, texts on disk,
and each document's words ready for the ranker.

Each chunk is one JSON line (id, text, metadata) in the index's chunk pack (``store/lines.py``), and a
version keeps where its rows' lines are (``chunks_spans.npy``, in BM25 row order). A search needs the
texts of a few dozen rows, so they are read back by byte offset when asked for instead of held in RAM
(about 1 KB a chunk). The metadata a document's chunks repeat (title, aliases, agency, url...)
is held once per distinct value instead of once per chunk (about 1.6 KB a chunk).

Loading a version parsed every line of chunks.jsonl, texts included: 2.5 s of the 4.5 s it took at
112,000 chunks, paid by the first request after every upload. So each version also stores what loading
needs in a compact form: ``docs.json`` (the metadata all chunks of a document share), ``rows.jsonl``
(per chunk: its id, its document, and the metadata of its own). Versions published before are read
the long way.

The ranker asks, for every candidate document, which words it uses anywhere (``doc_words.json``:
folded, space-separated). Working that out from the texts took 4 ms a document and most of a search's
time on a large index, so each publish writes it for the documents it adds and copies the rest.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.store import lines
from assistant.store.lines import LineFile, write_lines
from assistant.text import folded_words

if TYPE_CHECKING:
    from assistant.store.snapshot import Snapshot

FILE = "chunks.jsonl"  # a version's own chunk lines, as versions before packs kept them
KIND = "chunks"  # the chunk lines' pack kind (store/lines.py)
WORDS = "doc_words.json"
DOCS = "docs.json"
ROWS = "rows.jsonl"
OFFSETS = "offsets.npy"  # where each line of a version's own chunks.jsonl starts


class ChunkTexts(Sequence[str]):
    """The texts of a version's chunks, read by row when asked for: each row's line (id, text, metadata)
    is at ``spans[row]`` in ``path``, the index's chunk pack or, for a version published before packs,
    its own chunks.jsonl.

    Bytes a version reads never change once it is published, so spans stay valid; ``os.pread`` keeps
    concurrent requests from moving one shared file position."""

    def __init__(self, path: Path, spans: np.ndarray, size: int) -> None:
        self.path = path
        self.spans = spans
        self.size = size  # the bytes of ``path`` this version may read
        self._fd = os.open(path, os.O_RDONLY)

    @classmethod
    def of(cls, folder: Path) -> ChunkTexts | None:
        """A version's texts: from the pack, or its own chunks.jsonl with saved offsets; None when the
        version saved no offsets (it is read whole)."""
        found = lines.packed(folder, KIND)
        if found is not None:
            return cls(*found)
        if (folder / OFFSETS).exists():
            offsets = np.load(folder / OFFSETS)
            return cls(folder / FILE, np.column_stack((offsets[:-1], offsets[1:])), int(offsets[-1]))
        return None

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, row: int) -> str:  # type: ignore[override]
        return self.row(row)["text"]

    def row(self, row: int) -> dict:
        """One chunk's whole line: id, text and metadata."""
        if not -len(self) <= row < len(self):
            raise IndexError(row)
        start, end = (int(x) for x in self.spans[row % len(self)])
        return json.loads(os.pread(self._fd, end - start, start))

    def lines(self) -> LineFile:
        """The same lines, mapped: what the next version keeps of them."""
        return LineFile.open(self.path, self.spans, self.size)

    def rows(self) -> Iterator[dict]:
        """Every chunk's whole line in row order, read through one mapping rather than a read a row."""
        mapped = self.lines()
        for n in range(len(mapped)):
            yield json.loads(mapped.line(n))

    def __iter__(self) -> Iterator[str]:
        return (row["text"] for row in self.rows())

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


def read(folder: Path) -> tuple[list[str], list[dict], ChunkTexts]:
    """Ids, metadata and (on-demand) texts of the chunks stored in a version folder."""
    texts = ChunkTexts.of(folder)
    if texts is None or not all((folder / name).exists() for name in (DOCS, ROWS)):
        return _read_whole(folder)
    shared: dict[str, str] = {}
    docs = {
        doc: {sys.intern(k): _shared(v, shared) for k, v in meta.items()}
        for doc, meta in json.loads((folder / DOCS).read_text(encoding="utf-8")).items()
    }
    # Line by line: parsing the table as one JSON array was a little faster but left about 50 MB more
    # resident at 112,000 chunks. The id in a chunk's metadata is the row's own id object; the other
    # values (sections) are pooled.
    ids: list[str] = []
    metadatas: list[dict] = []
    with (folder / ROWS).open("rb") as table:
        for line in table:
            chunk_id, doc, own = json.loads(line)
            ids.append(chunk_id)
            own = {sys.intern(k): chunk_id if k == "chunk_id" else _shared(v, shared) for k, v in own.items()}
            metadatas.append({**docs[doc], **own})
    return ids, metadatas, texts


def _read_whole(folder: Path) -> tuple[list[str], list[dict], ChunkTexts]:
    """``read`` for a version published before the compact files: every chunk's line parsed."""
    texts = ChunkTexts.of(folder)
    if texts is None:  # no offsets saved either: its chunks.jsonl is scanned for line ends
        scanned = LineFile.open(folder / FILE)
        texts = ChunkTexts(folder / FILE, scanned.spans, scanned.size)
    ids: list[str] = []
    metadatas: list[dict] = []
    shared: dict[str, str] = {}
    for row in texts.rows():
        ids.append(row["id"])
        metadatas.append({sys.intern(k): _shared(v, shared) for k, v in row["meta"].items()})
    return ids, metadatas, texts


def _shared(value: object, pool: dict[str, str]) -> object:
    """One object per distinct string: a document's chunks repeat its title, aliases, agency..."""
    return pool.setdefault(value, value) if isinstance(value, str) else value


def document_words(texts: Iterable[str]) -> str:
    """The distinct folded words of one document's chunk texts, space-separated."""
    return " ".join(dict.fromkeys(folded_words(" ".join(texts))))


def read_words(folder: Path) -> dict[str, str] | None:
    """Each document's words as the version stored them; None for a version published before the file
    was written (the snapshot then works them out once, with ``document_words``)."""
    path = folder / WORDS
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def write(
    folder: Path,
    name: str,
    previous: Snapshot | None,
    kept: list[int],
    kept_docs: list[str],
    new_rows: list[dict],
) -> None:
    """The chunks of version ``name`` (built in ``folder``): the previous version's kept rows as they
    are (no re-encoding of texts the publish did not touch), then the new rows, in the chunk pack; its
    compact row table (kept lines copied as byte ranges); and its documents' words. ``kept_docs``: the
    documents of ``kept``."""
    new = [(json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8") for row in new_rows]
    lines.write_packed(folder, name, KIND, previous.texts.lines() if previous else LineFile(b""), kept, new)
    _write_row_table(folder, previous, kept, new_rows, kept_docs)
    words = {} if previous is None else {d: previous.doc_words[d] for d in kept_docs}
    new_texts: dict[str, list[str]] = {}
    for row in new_rows:
        new_texts.setdefault(row["meta"]["doc_id"], []).append(row["text"])
    words |= {doc: document_words(texts) for doc, texts in new_texts.items()}
    (folder / WORDS).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")


def _write_row_table(
    folder: Path, previous: Snapshot | None, kept: list[int], new_rows: list[dict], kept_docs: list[str]
) -> None:
    """docs.json and rows.jsonl of the next version: the kept rows' lines copied from the previous
    version's table, or written from its metadata when it has none (published before tables)."""
    old_docs: dict[str, dict] = {}
    new_docs = _shares(new_rows)
    old_lines, kept_rows = LineFile(b""), kept
    if previous is not None and kept:
        if (previous.path / DOCS).exists() and (previous.path / ROWS).exists():
            old_docs = json.loads((previous.path / DOCS).read_text(encoding="utf-8"))
            old_lines = LineFile.open(previous.path / ROWS)
        else:
            old_docs = _shares([{"meta": previous.metadatas[r]} for r in kept])
            old_lines = LineFile(
                b"".join(_row_line(previous.ids[r], previous.metadatas[r], old_docs) for r in kept)
            )
            kept_rows = list(range(len(kept)))
    write_lines(
        folder / ROWS, old_lines, kept_rows, [_row_line(r["id"], r["meta"], new_docs) for r in new_rows]
    )
    docs = {d: old_docs[d] for d in kept_docs} | new_docs
    (folder / DOCS).write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")


def _shares(rows: list[dict]) -> dict[str, dict]:
    """Per document, the metadata every one of its chunks carries with the same value."""
    common: dict[str, dict] = {}
    for row in rows:
        meta = row["meta"]
        doc = meta["doc_id"]
        if doc not in common:
            common[doc] = dict(meta)
        else:
            common[doc] = {k: v for k, v in common[doc].items() if k in meta and meta[k] == v}
    return common


def _row_line(chunk_id: str, meta: dict, docs: dict[str, dict]) -> bytes:
    shared = docs[meta["doc_id"]]
    own = {k: v for k, v in meta.items() if k not in shared}
    return (json.dumps([chunk_id, meta["doc_id"], own], ensure_ascii=False) + "\n").encode("utf-8")


def documents_of(metadatas: list[dict], rows: list[int]) -> list[str]:
    """The documents the rows belong to, in the order they first appear."""
    return list(dict.fromkeys(metadatas[r]["doc_id"] for r in rows))
