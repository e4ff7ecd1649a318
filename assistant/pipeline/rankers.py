"""Rankers: each orders the chunks (or documents) of one snapshot for a question by one signal.

A ranker reads the ``Question`` and a ``Snapshot`` and returns a ``Ranking``; it knows nothing of the
others or of fusion, so one can be swapped or retrained alone. Every ranker honours the filter mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.pipeline.question import Question
from assistant.store.snapshot import Snapshot, with_bigrams
from assistant.text import PORTAL_CODE, tokens


@dataclass
class Ranking:
    """Rows (chunks) or document ids, best first; ``scores`` are the ranker's own, in the same order."""

    items: list = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


def top_positions(scores: np.ndarray, mask: np.ndarray | None, n: int) -> list[int]:
    """Positions of the ``n`` best positive scores, best first, within the mask."""
    if mask is not None:
        scores = scores * mask
    n = min(n, len(scores))
    if n == 0:
        return []
    top = np.argpartition(-scores, n - 1)[:n]
    return [int(i) for i in sorted(top, key=lambda i: -scores[i]) if scores[i] > 0]


def query_terms(question: Question) -> list[str]:
    """Accented tokens for an accented question, folded ones for a question typed without diacritics."""
    return tokens(question.text) if question.accented else list(question.words)


class LexicalRanker:
    """BM25 over the chunks: the accented field for an accented question, the folded one otherwise."""

    def __init__(self, depth: int, folded_only: bool = False) -> None:
        self.depth = depth
        self.folded_only = folded_only  # the evaluator's 'bm25' mode: folded BM25 whatever was typed

    def run(self, question: Question, snapshot: Snapshot, mask: np.ndarray | None) -> Ranking:
        accented = question.accented and not self.folded_only
        terms = tokens(question.text) if accented else list(question.words)
        if not terms or not snapshot.ids:
            return Ranking()
        bm25 = snapshot.bm25_raw if accented else snapshot.bm25_folded
        scores = bm25.scores(terms)
        rows = top_positions(scores, mask, self.depth)
        return Ranking(rows, [float(scores[r]) for r in rows])


class DenseRanker:
    """Exact cosine similarity of the embedded question to every chunk vector."""

    def __init__(self, embedder: Embeddings, depth: int) -> None:
        self.embedder = embedder
        self.depth = depth

    def embed(self, question: Question) -> np.ndarray:
        return np.asarray(self.embedder.embed_query(question.dense_text), dtype=np.float32)

    def run(self, vector: np.ndarray, snapshot: Snapshot, mask: np.ndarray | None) -> Ranking:
        if not snapshot.ids:
            return Ranking()
        similarity = snapshot.vectors.similarity(vector / (np.linalg.norm(vector) or 1.0))
        if mask is not None:
            similarity = np.where(mask > 0, similarity, -np.inf)
        n = min(self.depth, len(similarity))
        top = np.argpartition(-similarity, n - 1)[:n]
        rows = [int(r) for r in sorted(top, key=lambda r: -similarity[r]) if similarity[r] > -np.inf]
        return Ranking(rows, [float(similarity[r]) for r in rows])


class TitleRanker:
    """Documents ranked by how well the question matches their title, aliases and code: how people
    name a procedure."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def run(self, question: Question, snapshot: Snapshot, mask: np.ndarray | None) -> Ranking:
        terms = query_terms(question)
        doc_ids = snapshot.doc_ids
        if not terms or not doc_ids:
            return Ranking()
        bm25 = snapshot.title_bm25_raw if question.accented else snapshot.title_bm25_folded
        allowed = None
        if mask is not None:
            allowed = np.asarray([mask[snapshot.doc_chunks(d)[0]] for d in doc_ids], dtype=np.float32)
        scores = bm25.scores(with_bigrams(terms))
        positions = top_positions(scores, allowed, self.depth)
        return Ranking([doc_ids[i] for i in positions], [float(scores[i]) for i in positions])


class CodeRanker:
    """Chunks of the records whose portal code the question names ('1.001193'), best lexical match
    first: staff type codes, and a code names the record outright."""

    def __init__(self, lexical: LexicalRanker) -> None:
        self.lexical = lexical

    def run(self, question: Question, snapshot: Snapshot, mask: np.ndarray | None) -> Ranking:
        codes = PORTAL_CODE.findall(question.text)
        if not codes:
            return Ranking()
        rows = [r for code in dict.fromkeys(codes) for r in snapshot.rows_of_code.get(code, ())]
        if not rows:
            return Ranking()
        named = np.zeros(len(snapshot.ids), dtype=np.float32)
        named[rows] = 1.0
        ranked = self.lexical.run(question, snapshot, named if mask is None else named * mask).items
        fallback = [int(i) for i in np.flatnonzero(named) if mask is None or mask[i]]
        rows = list(dict.fromkeys(ranked + fallback))
        return Ranking(rows, [1.0] * len(rows))
