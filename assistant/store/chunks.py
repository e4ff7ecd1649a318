"""A version's chunks as a searching process holds them: ids and metadata in memory, texts on disk,
and each document's words ready for the ranker.

``chunks.jsonl`` has one JSON line per chunk (id, text, metadata) in BM25 row order. A search needs
the texts of a few dozen rows, so they are read back by byte offset when asked for instead of held in
RAM (about 1 KB a chunk). The metadata a document's chunks repeat (title, aliases, agency, url...)
is held once per distinct value instead of once per chunk (about 1.6 KB a chunk).

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

from assistant.text import folded_words

if TYPE_CHECKING:
    from assistant.store.snapshot import Snapshot

FILE = "chunks.jsonl"
WORDS = "doc_words.json"


class ChunkTexts(Sequence[str]):
    """The texts of a version's chunks, read from its chunks.jsonl by row when asked for.

    The version folder is never changed once published, so offsets stay valid; ``os.pread`` keeps
    concurrent requests from moving one shared file position."""

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self.path = path
        self._offsets = offsets  # one more than rows: where each line starts, then the file's end
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, row: int) -> str:  # type: ignore[override]
        if not -len(self) <= row < len(self):
            raise IndexError(row)
        row %= len(self)
        start, end = int(self._offsets[row]), int(self._offsets[row + 1])
        return json.loads(os.pread(self._fd, end - start, start))["text"]

    def __iter__(self) -> Iterator[str]:
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)["text"]

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


def read(folder: Path) -> tuple[list[str], list[dict], ChunkTexts]:
    """Ids, metadata and (on-demand) texts of the chunks stored in a version folder."""
    path = folder / FILE
    ids: list[str] = []
    metadatas: list[dict] = []
    offsets = [0]
    shared: dict[str, str] = {}
    with path.open("rb") as lines:
        for line in lines:
            row = json.loads(line)
            ids.append(row["id"])
            meta = {sys.intern(k): _shared(v, shared) for k, v in row["meta"].items()}
            metadatas.append(meta)
            offsets.append(offsets[-1] + len(line))
    return ids, metadatas, ChunkTexts(path, np.asarray(offsets, dtype=np.int64))


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


def write(folder: Path, previous: Snapshot | None, kept: list[int], new_rows: list[dict]) -> None:
    """The next version's chunks.jsonl: the previous version's kept rows copied as they are (no
    re-encoding of texts the publish did not touch), then the new rows; and its documents' words."""
    wanted = set(kept)
    with (folder / FILE).open("wb") as out:
        if previous is not None and kept:
            with (previous.path / FILE).open("rb") as lines:
                for row, line in enumerate(lines):
                    if row in wanted:
                        out.write(line)
        for row in new_rows:
            out.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    words = {} if previous is None else {d: previous.doc_words[d] for d in _docs(previous.metadatas, kept)}
    new_texts: dict[str, list[str]] = {}
    for row in new_rows:
        new_texts.setdefault(row["meta"]["doc_id"], []).append(row["text"])
    words |= {doc: document_words(texts) for doc, texts in new_texts.items()}
    (folder / WORDS).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")


def _docs(metadatas: list[dict], rows: list[int]) -> list[str]:
    return list(dict.fromkeys(metadatas[r]["doc_id"] for r in rows))
