"""A version's chunks as a searching process holds them: ids and metadata in memory, texts on disk.

``chunks.jsonl`` has one JSON line per chunk (id, text, metadata) in BM25 row order. A search needs
the texts of a few dozen rows, so they are read back by byte offset when asked for instead of held in
RAM (about 1 KB a chunk). The metadata a document's chunks repeat (title, aliases, agency, url...)
is held once per distinct value instead of once per chunk (about 1.6 KB a chunk).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

FILE = "chunks.jsonl"


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


def write(folder: Path, previous: Path | None, kept: list[int], new_rows: list[dict]) -> None:
    """The next version's chunks.jsonl: the previous version's kept rows copied as they are (no
    re-encoding of texts the publish did not touch), then the new rows."""
    wanted = set(kept)
    with (folder / FILE).open("wb") as out:
        if previous is not None and kept:
            with (previous / FILE).open("rb") as lines:
                for row, line in enumerate(lines):
                    if row in wanted:
                        out.write(line)
        for row in new_rows:
            out.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
