"""BM25 over a term-frequency matrix that the next version extends instead of rebuilding.

bm25s stores each (word, chunk) pair's final score, with the word's IDF and the average chunk length
baked in; adding one document changes both, so every version re-tokenised and re-scored every chunk:
about 5 s of a publish at 16,000 chunks and 30 s at 99,000. Here a version stores the counts (which
do not change when other chunks come and go) and the chunks' lengths, and the score is worked out at
search time for the question's words only. The next version keeps the previous version's rows that are
still current, appends the new documents' rows, and drops the words no chunk uses any more: its cost
follows the size of the change plus a sparse copy of the rest.

Scores are bm25s's Lucene variant to the bit (k1 1.5, b 0.75, IDF log(1 + (N - df + 0.5) / (df +
0.5)), the same float32 and float64 steps), so rankings and the models trained on them are unchanged.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

K1 = 1.5
B = 0.75
VOCABULARY = "vocabulary.json"
ARRAYS = ("starts", "rows", "counts", "lengths")
# Counts are small whole numbers (a chunk is at most a few thousand characters): two bytes each, which
# keeps the postings a search reads (and a publish writes) a quarter smaller than float32 did. Scores
# are the same to the bit: the division promotes them to float64 either way.
COUNT = np.uint16


@dataclass
class TermIndex:
    """One BM25 field: ``counts[starts[w]:starts[w + 1]]`` are how often word ``w`` occurs in the chunks
    ``rows[starts[w]:starts[w + 1]]``; ``lengths`` are the chunks' lengths in words."""

    words: list[str]  # column order
    starts: np.ndarray
    rows: np.ndarray
    counts: np.ndarray
    lengths: np.ndarray
    vocab: dict[str, int] = field(init=False)
    _norm: np.ndarray = field(init=False)  # k1 * (1 - b + b * length / average length), per chunk

    def __post_init__(self) -> None:
        self.vocab = {w: i for i, w in enumerate(self.words)}
        average = np.asarray(self.lengths).mean() if len(self.lengths) else 1.0
        self._norm = K1 * ((1 - B) + B * np.asarray(self.lengths, dtype=np.int64) / average)

    @property
    def size(self) -> int:
        return len(self.lengths)

    def document_frequency(self, word: str) -> int:
        """In how many chunks the word occurs."""
        i = self.vocab.get(word)
        return 0 if i is None else int(self.starts[i + 1] - self.starts[i])

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """Each chunk's BM25 score for the words (a word asked twice counts twice, as in bm25s)."""
        size = len(self.lengths)
        scores = np.zeros(size, dtype=np.float32)
        for term in terms:
            i = self.vocab.get(term)
            if i is None:
                continue
            start, end = int(self.starts[i]), int(self.starts[i + 1])
            rows = self.rows[start:end]
            counts = self.counts[start:end]
            idf = np.float32(math.log(1 + (size - (end - start) + 0.5) / (end - start + 0.5)))
            scores[rows] += (idf * (counts / (self._norm[rows] + counts))).astype(np.float32)
        return scores

    # ---- building --------------------------------------------------------------------------------

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]], folder: Path | None = None) -> TermIndex:
        none = cls(
            [], np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, COUNT), np.zeros(0, np.int32)
        )
        return none.extended([], docs, folder)

    def extended(
        self, kept: Sequence[int], docs: Sequence[Sequence[str]], folder: Path | None = None
    ) -> TermIndex:
        """The index of this one's ``kept`` rows (ascending), in that order, followed by ``docs``; words
        no row uses any more are dropped. Written straight into ``folder`` when one is given.

        The kept postings are copied once, in order, with each word's new postings inserted after its
        own: no sorting or scattering of the whole index (that took 0.8 s a field at 8 million
        postings)."""
        kept = np.asarray(kept, dtype=np.int64)
        rows, counts, starts = np.asarray(self.rows), np.asarray(self.counts), np.asarray(self.starts)
        if len(kept) < self.size:  # rows leave: drop their postings, number the rest from 0 again
            renumber = np.full(self.size, -1, dtype=np.int32)
            renumber[kept] = np.arange(len(kept), dtype=np.int32)
            moved = renumber[rows]
            keep = moved >= 0
            rows, counts = moved[keep], counts[keep]
            starts = starts - np.searchsorted(np.flatnonzero(~keep), starts)
        # The new documents' postings, sorted by word and then row.
        words, vocab = list(self.words), dict(self.vocab)
        new_rows: list[int] = []
        columns: list[int] = []
        values: list[int] = []
        for row, doc in enumerate(docs, start=len(kept)):
            for word, count in Counter(doc).items():
                if word not in vocab:
                    vocab[word] = len(words)
                    words.append(word)
                new_rows.append(row)
                columns.append(vocab[word])
                values.append(count)
        order = np.argsort(np.asarray(columns, dtype=np.int64), kind="stable")
        new_columns = np.asarray(columns, dtype=np.int64)[order]
        # New words start with no kept postings, at the end.
        starts = np.concatenate([starts, np.full(len(words) - len(self.words), starts[-1])])
        at = starts[new_columns + 1]  # each new posting goes after its word's kept postings
        total = len(rows) + len(new_columns)
        added_rows, added_counts = np.asarray(new_rows)[order], np.asarray(values)[order]
        out_rows = _merged(rows, at, added_rows, _array(folder, "rows", total))
        out_counts = _merged(counts, at, added_counts, _array(folder, "counts", total))
        new_per_word = np.bincount(new_columns, minlength=len(words))
        used = (np.diff(starts) + new_per_word) > 0
        starts = starts + np.concatenate(([0], np.cumsum(new_per_word)))
        if not used.all():
            words = [w for w, u in zip(words, used, strict=True) if u]
            starts = np.append(starts[:-1][used], starts[-1])
        lengths = np.concatenate([np.asarray(self.lengths)[kept], [len(d) for d in docs]]).astype(np.int32)
        extended = TermIndex(words, starts, out_rows, out_counts, lengths)
        if folder is not None:
            extended.save(folder, ("starts", "lengths"))
        return extended

    # ---- files -----------------------------------------------------------------------------------

    def save(self, folder: Path, arrays: Sequence[str] = ARRAYS) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in arrays:
            np.save(folder / f"{name}.npy", np.asarray(getattr(self, name)))
        (folder / VOCABULARY).write_text(json.dumps(self.words, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TermIndex:
        """Memory-mapped: a search reads only the postings of the question's words."""
        # Plain array views of the maps: slicing a np.memmap builds a memmap object each time, which
        # showed in every search (a dozen BM25 calls an ask, each slicing once per word).
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray) for name in ARRAYS}
        return cls(json.loads((folder / VOCABULARY).read_text(encoding="utf-8")), **arrays)


def _array(folder: Path | None, name: str, size: int) -> np.ndarray:
    """Where a merged array goes: a new .npy file mapped for writing, or memory."""
    dtype = np.int32 if name == "rows" else COUNT
    if folder is None:
        return np.empty(size, dtype=dtype)
    folder.mkdir(parents=True, exist_ok=True)
    if size == 0:  # nothing to map
        np.save(folder / f"{name}.npy", np.empty(0, dtype=dtype))
        return np.empty(0, dtype=dtype)
    return np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=dtype, shape=(size,))


def _merged(old: np.ndarray, at: np.ndarray, new: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``old`` with each ``new[i]`` inserted before ``old[at[i]]`` (``at`` ascending, ties kept in
    order), written into ``out``: one slice copy per distinct insertion point."""
    taken = filled = 0
    groups = np.flatnonzero(np.diff(at)) + 1
    firsts, lasts = (np.r_[0, groups], np.r_[groups, len(at)]) if len(at) else ((), ())
    for first, last in zip(firsts, lasts, strict=True):
        point = int(at[first])
        out[filled : filled + point - taken] = old[taken:point]
        filled += point - taken
        out[filled : filled + last - first] = new[first:last]
        filled += last - first
        taken = point
    out[filled:] = old[taken:]
    if isinstance(out, np.memmap):
        out.flush()
    return out
