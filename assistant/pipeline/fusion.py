"""Fusion: one list of chunk scores from the rankers' lists, on a documented scale.

Scale: 1.0 is the score of a chunk ranked first by every chunk ranker whose document is also first by
name; 0 is a chunk no ranker found. A chunk of a procedure whose portal code the question names gets
``CODE_MATCH`` reciprocal-rank units on top (about 8 on this scale), so it ranks above everything
else. The answer policy compares scores on this scale (ratios to the best), so its thresholds keep
their meaning whichever fuser runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from assistant.pipeline.rankers import Ranking
from assistant.store.snapshot import Snapshot

CODE_MATCH = 1.0  # in reciprocal-rank units, where first place in one list is 1/(k+1): a named code decides


@dataclass
class Rankings:
    """What the rankers found for one question."""

    dense: Ranking
    lexical: Ranking
    titles: Ranking  # document ids
    codes: Ranking


class Fuser(Protocol):
    def fuse(self, rankings: Rankings, snapshot: Snapshot, accented: bool) -> dict[int, float]:
        """Row -> score on the scale above."""
        ...


@dataclass
class WeightedRRF:
    """Weighted reciprocal-rank fusion. The weights can differ for accented and unaccented questions
    (each list deserves a different trust); plain RRF with k=60 let dense hide BM25's wins."""

    k: int
    dense_accented: float
    lexical_accented: float
    dense_unaccented: float
    lexical_unaccented: float
    title: float

    def fuse(self, rankings: Rankings, snapshot: Snapshot, accented: bool) -> dict[int, float]:
        weights = (
            (self.dense_accented, self.lexical_accented)
            if accented
            else (self.dense_unaccented, self.lexical_unaccented)
        )
        best = (sum(weights) + self.title) / (self.k + 1)  # first in every list
        fused: dict[int, float] = {}
        for weight, ranking in zip(weights, (rankings.dense, rankings.lexical), strict=True):
            for rank, row in enumerate(ranking.items):
                fused[row] = fused.get(row, 0.0) + weight / (self.k + rank + 1) / best
        for rank, doc_id in enumerate(rankings.titles.items):
            rows = snapshot.doc_chunks(doc_id)
            for row in [r for r in rows if r in fused] or rows[:1]:
                fused[row] = fused.get(row, 0.0) + self.title / (self.k + rank + 1) / best
        for rank, row in enumerate(rankings.codes.items):
            fused[row] = fused.get(row, 0.0) + CODE_MATCH / (1 + rank * 0.01) / best
        return fused
