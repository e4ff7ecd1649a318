"""Vectors that versions share: one append-only pack file (``store/packs.py``), and per version the places
of its rows in it.

Each version used to write every vector into a ``vectors.npy`` of its own (154 MB at 100,000 chunks),
so publishing one new document copied all the others: about half a second of the publish at 100k and
most of the disk writes behind it (eval/README.md, "Versions share their vectors"). Now the unit
vectors live in a pack in the index's ``packs/`` folder. A publish appends only its new vectors and
writes the version's row map (``vector_rows.npy``, each row's place in the pack) and ``vectors.json``
(which pack, and how many of its rows the version may read). A version published earlier keeps reading
its own rows: an append never changes the bytes before it, and a reader maps only the rows its version
knows.

The vectors of changed and removed documents stay in the pack, and exact dense search scores them too
before the row map drops them. When they pass a tenth of the pack, the publish writes a fresh pack
holding only its own rows, and a pack no kept version names is deleted with the last version naming it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.store import packs

POINTER = packs.VECTOR_POINTER  # in a version: {"pack": file name, "rows": rows it may read, "dim": width}
ROW_MAP = "vector_rows.npy"  # in a version: the pack row of each of its rows
WASTE = 0.1  # share of a pack's rows that no version being published serves, before it is rewritten
COPY_BLOCK = 8192  # rows copied at a time into a fresh pack


@dataclass(frozen=True)
class RowVectors:
    """A version's unit vectors in row order: rows ``at`` of ``pack`` (mapped), which may also hold rows
    other versions serve. ``file`` is the pack's path; None for vectors read some other way."""

    pack: np.ndarray
    at: np.ndarray
    file: Path | None = None

    @classmethod
    def whole(cls, matrix: np.ndarray) -> RowVectors:
        """A matrix whose rows are the version's rows, in order."""
        return cls(matrix, np.arange(len(matrix), dtype=np.int64))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.at), self.pack.shape[1] if self.pack.ndim == 2 else 0

    def __len__(self) -> int:
        return len(self.at)

    def __getitem__(self, rows: Sequence[int] | slice | np.ndarray) -> np.ndarray:
        return self.pack[self.at[rows]]

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        return np.asarray(self.pack[self.at], dtype=dtype)

    def similarity(self, unit: np.ndarray) -> np.ndarray:
        """Each row's dot product with ``unit``. The whole pack is scored in one pass over the mapped
        file (rows nobody serves included) and the version's rows picked after; each row's product is
        the one a matrix of the version's rows alone would give.

        einsum, not @: a BLAS product runs on OpenBLAS's threads, which keep spinning afterwards and
        slowed the next query embedding from about 22 to 60 ms at 15k chunks (eval/README.md)."""
        if not len(self.at):
            return np.zeros(0, dtype=np.float32)
        return np.einsum("ij,j->i", self.pack, unit)[self.at]

    def mean(self, axis: int = 0) -> np.ndarray:
        """The mean vector, summed block by block instead of gathering every row at once."""
        if axis != 0:
            raise ValueError("only the mean over rows")
        total = np.zeros(self.shape[1], dtype=np.float64)
        for start in range(0, len(self.at), COPY_BLOCK):
            total += self[start : start + COPY_BLOCK].sum(axis=0)
        return (total / max(len(self.at), 1)).astype(np.float32)


def load(version_path: Path) -> RowVectors | None:
    """The version's vectors from its pack; None for a version published before packs."""
    pointer = version_path / POINTER
    if not pointer.exists():
        return None
    info = json.loads(pointer.read_text(encoding="utf-8"))
    file = version_path.parent.parent / packs.PACKS / info["pack"]
    rows, dim = int(info["rows"]), int(info["dim"])
    if rows == 0:
        pack = np.zeros((0, dim), dtype=np.float32)
    else:  # only the rows this version may read are mapped: later appends lie past them
        pack = np.memmap(file, dtype=np.float32, mode="r", shape=(rows, dim)).view(np.ndarray)
    return RowVectors(pack, np.load(version_path / ROW_MAP), file)


def write(
    staging: Path, name: str, previous: RowVectors | None, kept: list[int], new: list[np.ndarray]
) -> RowVectors:
    """The vectors of version ``name`` (built in ``staging``): ``previous``'s ``kept`` rows, then the
    ``new`` vectors at unit length. They are appended to the previous version's pack, or written into a
    fresh pack named after the version when there is none yet or the pack would be wasting more than
    ``WASTE`` of its rows."""
    fresh = np.vstack(new).astype(np.float32) if new else np.zeros((0, 0), dtype=np.float32)
    if len(fresh):
        norms = np.linalg.norm(fresh, axis=1, keepdims=True)
        fresh /= np.where(norms > 0, norms, 1.0)
    dim = fresh.shape[1] if len(fresh) else previous.shape[1] if previous is not None else 0
    readable = 0 if previous is None else len(previous.pack)
    if previous is not None and packs.appendable(
        previous.file, readable, len(fresh), len(kept) + len(fresh), WASTE
    ):
        file = previous.file
        packs.append(file, readable * dim * 4, fresh.tobytes())
        at = np.concatenate([previous.at[kept], np.arange(readable, readable + len(fresh))])
        rows = readable + len(fresh)
    else:
        file = packs.folder(staging) / f"{name}.f32"
        with file.open("wb") as out:
            for start in range(0, len(kept), COPY_BLOCK):
                out.write(np.ascontiguousarray(previous[kept[start : start + COPY_BLOCK]]).tobytes())
            out.write(fresh.tobytes())
        at = np.arange(len(kept) + len(fresh))
        rows = len(at)
    np.save(staging / ROW_MAP, at.astype(np.int64))
    pointer = {"pack": file.name, "rows": rows, "dim": dim}
    (staging / POINTER).write_text(json.dumps(pointer), encoding="utf-8")
    return load(staging)  # type: ignore[return-value]
