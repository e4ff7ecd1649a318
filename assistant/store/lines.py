"""Files of one line per chunk, in row order, carried into the next version without re-encoding.

A version keeps several such files: the chunk texts, rows.jsonl, the lexical forms. The next version
serves most of the same rows in the same order. The chunk texts and the lexical forms (126 and 85 MB at
100,000 chunks) live in packs the versions share (``store/packs.py``): a publish appends its new lines
and keeps each row's byte span, so the kept lines are not written again. rows.jsonl is small and stays
in each version; its kept lines are copied as byte ranges of the mapped file, run by run, instead of
being split into a Python object per line and joined again (about 1.4 s at 112,000 chunks for the four
files that were copied that way, against a tenth of that). Where each line starts and ends is saved
beside the files, so that opening one does not scan it for line ends.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from assistant.store import packs

WASTE = 0.25  # share of a line pack the next version would not read, before it is rewritten


def _spans(starts: np.ndarray) -> np.ndarray:
    """Spans of contiguous lines from where each starts (and then the end of the last)."""
    return np.column_stack((starts[:-1], starts[1:])).astype(np.int64)


class LineFile:
    """Newline-ended lines (a mapped file, or lines held in memory): ``spans[row]`` is where a row's
    line starts and ends (after its newline); ``size`` the bytes the version may read, and ``path`` the
    file they are in (None in memory)."""

    def __init__(self, data: bytes | mmap.mmap, spans: np.ndarray | None = None, path: Path | None = None):
        self._data = data
        if spans is None:
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")) + 1
            spans = _spans(np.concatenate(([0], ends)))
        self.spans = spans
        self.size = len(data)
        self.path = path

    @classmethod
    def open(cls, path: Path, spans: np.ndarray | None = None, size: int | None = None) -> LineFile:
        """A file's lines, memory-mapped: its first ``size`` bytes (all by default), with the rows'
        ``spans`` when the caller knows them."""
        with path.open("rb") as handle:
            size = handle.seek(0, 2) if size is None else size
            data = b"" if size == 0 else mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)
            return cls(data, spans, path)

    @classmethod
    def contiguous(cls, path: Path, starts: np.ndarray | None) -> LineFile:
        """A file of its version's rows in order, with where each starts (then its end) if saved."""
        return cls.open(path, None if starts is None else _spans(starts))

    @classmethod
    def of(cls, lines: list[bytes]) -> LineFile:
        """Lines held in memory: forms worked out for a version that did not store them."""
        return cls(b"".join(line + b"\n" for line in lines))

    def __len__(self) -> int:
        return len(self.spans)

    def line(self, row: int) -> bytes:
        """One line, without its newline."""
        return self._data[int(self.spans[row, 0]) : int(self.spans[row, 1]) - 1]

    def texts(self) -> list[str]:
        """Every line, decoded."""
        return [self.line(row).decode("utf-8") for row in range(len(self))]

    def copy_rows(self, rows: Sequence[int], out: BinaryIO) -> np.ndarray:
        """Write the lines at ``rows`` (ascending) to ``out``, run by run; returns their lengths."""
        rows = np.asarray(rows, dtype=np.int64)
        spans = self.spans[rows]
        if len(rows):
            joined = (np.diff(rows) == 1) & (spans[1:, 0] == spans[:-1, 1])
            breaks = np.flatnonzero(~joined) + 1
            firsts, lasts = np.r_[0, breaks], np.r_[breaks - 1, len(rows) - 1]
            with memoryview(self._data) as view:
                for first, last in zip(firsts, lasts, strict=True):
                    out.write(view[int(spans[first, 0]) : int(spans[last, 1])])
        return spans[:, 1] - spans[:, 0]


def write_lines(path: Path, old: LineFile, kept: Sequence[int], new: Sequence[bytes]) -> np.ndarray:
    """``old``'s lines at ``kept``, then the ``new`` ones (each ending in a newline), into ``path``;
    returns where each line of the written file starts, then its end."""
    with path.open("wb") as out:
        lengths = old.copy_rows(kept, out)
        out.writelines(new)
    lengths = np.concatenate((lengths, np.fromiter(map(len, new), dtype=np.int64, count=len(new))))
    return np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)))


def write_packed(
    staging: Path, name: str, kind: str, old: LineFile, kept: Sequence[int], new: list[bytes]
) -> None:
    """The ``kind`` lines of version ``name`` (built in ``staging``): ``old``'s lines at ``kept``, then
    ``new`` (each ending in a newline). They are appended to ``old``'s pack, or written into a fresh one
    named after the version when ``old`` is in none or more than ``WASTE`` of the pack would be lines
    the version does not read."""
    kept_spans = old.spans[np.asarray(kept, dtype=np.int64)]
    added = sum(map(len, new))
    live = int((kept_spans[:, 1] - kept_spans[:, 0]).sum()) + added
    if packs.appendable(old.path, old.size, added, live, WASTE):
        file, base = old.path, old.size
        packs.append(file, old.size, b"".join(new))
    else:
        file = packs.folder(staging) / f"{name}.{kind}"
        with file.open("wb") as out:
            lengths = old.copy_rows(kept, out)
            out.writelines(new)
        ends = np.cumsum(lengths, dtype=np.int64)
        kept_spans, base = np.column_stack((ends - lengths, ends)), int(ends[-1]) if len(ends) else 0
    new_ends = base + np.cumsum(np.fromiter(map(len, new), dtype=np.int64, count=len(new)))
    new_spans = np.column_stack((np.concatenate(([base], new_ends))[:-1], new_ends))
    np.save(staging / f"{kind}_spans.npy", np.vstack((kept_spans, new_spans)).astype(np.int64))
    pointer = staging / packs.LINE_POINTER
    kinds = json.loads(pointer.read_text(encoding="utf-8")) if pointer.exists() else {}
    kinds[kind] = {"pack": file.name, "bytes": base + added}
    pointer.write_text(json.dumps(kinds), encoding="utf-8")


def packed(version: Path, kind: str) -> tuple[Path, np.ndarray, int] | None:
    """Where a version's ``kind`` lines are: their pack, each row's span and the bytes the version may
    read; None for a version that keeps them itself."""
    pointer = version / packs.LINE_POINTER
    kinds = json.loads(pointer.read_text(encoding="utf-8")) if pointer.exists() else {}
    if kind not in kinds:
        return None
    file = version.parent.parent / packs.PACKS / kinds[kind]["pack"]
    return file, np.load(version / f"{kind}_spans.npy"), int(kinds[kind]["bytes"])


def open_packed(version: Path, kind: str) -> LineFile | None:
    """A version's ``kind`` lines from their pack, mapped; None for a version that keeps them itself."""
    found = packed(version, kind)
    return None if found is None else LineFile.open(found[0], found[1], found[2])
