"""Retrieval: the rankers' lists fused into the best chunk of each of the top documents.

The question is routed by whether it carries diacritics: an accented one searches the accented BM25
field and embeds as typed; an unaccented one searches the folded field and embeds the accent-restored
text (multilingual-e5 cannot read Vietnamese without its diacritics).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import Settings
from assistant.errors import UnknownFilter
from assistant.ingest.loaders import level_flag_key
from assistant.pipeline.answers import AsDict
from assistant.pipeline.fusion import Fuser, Rankings, WeightedRRF
from assistant.pipeline.question import Question
from assistant.pipeline.rankers import CodeRanker, DenseRanker, LexicalRanker, Ranking, TitleRanker
from assistant.store.snapshot import Snapshot
from assistant.text import fold

FILTER_KEYS = ("kind", "field", "level")
KINDS = ("procedure", "report", "other")
MODES = ("hybrid", "bm25", "dense")


@dataclass
class Hit(AsDict):
    doc_id: str
    source: str
    title: str
    section: str
    score: float  # on the fusion scale (pipeline/fusion.py)
    text: str
    chunk_id: str
    url: str = ""
    kind: str = ""
    field: str = ""
    level: str = ""
    code: str = ""
    similarity: float = 0.0  # cosine of the passage to the (restored) question; 0 if not dense-ranked


@dataclass
class SearchResult:
    question: Question
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)
    query_vector: np.ndarray | None = None
    best_similarity: float = 0.0  # the closest passage to the question, fused ranking aside


def resolve_filters(filters: dict[str, str | None] | None, snapshot: Snapshot) -> dict[str, str]:
    """Map user filter values to stored ones, ignoring case and diacritics; reject unknown ones."""
    resolved: dict[str, str] = {}
    for key, value in (filters or {}).items():
        if value in (None, ""):
            continue
        if key not in FILTER_KEYS:
            raise UnknownFilter(f"bộ lọc '{key}' không tồn tại; dùng: {', '.join(FILTER_KEYS)}")
        if key == "level":
            try:
                resolved["level"] = level_flag_key(str(value))
            except ValueError as exc:
                raise UnknownFilter(str(exc)) from exc
        elif key == "kind":
            if value not in KINDS:
                raise UnknownFilter(f"loại tài liệu '{value}' không tồn tại; dùng: {', '.join(KINDS)}")
            resolved["kind"] = str(value)
        else:
            match = snapshot.fields_by_folded.get(fold(str(value)).lower().strip())
            if not match:
                raise UnknownFilter(f"không có {key} nào tên '{value}' trong chỉ mục")
            resolved[key] = match
    return resolved


def filter_mask(filters: dict[str, str], snapshot: Snapshot) -> np.ndarray | None:
    """1 for the chunks the resolved filters keep, 0 for the others; None when nothing is filtered."""
    if not filters:
        return None
    keep = [
        all((m.get(v) is True) if k == "level" else (m.get(k) == v) for k, v in filters.items())
        for m in snapshot.metadatas
    ]
    return np.asarray(keep, dtype=np.float32)


class Retriever:
    """Runs the rankers and the fuser over one pinned snapshot."""

    def __init__(self, embedder: Embeddings, settings: Settings, fuser: Fuser | None = None) -> None:
        depth = settings.candidates
        self.lexical = LexicalRanker(depth)
        self.folded_lexical = LexicalRanker(depth, folded_only=True)
        self.dense = DenseRanker(embedder, depth)
        self.titles = TitleRanker(depth)
        self.codes = CodeRanker(self.lexical)
        self.fuser = fuser or WeightedRRF(
            k=settings.rrf_k,
            dense_accented=settings.dense_weight_accented,
            lexical_accented=settings.bm25_weight_accented,
            dense_unaccented=settings.dense_weight_unaccented,
            lexical_unaccented=settings.bm25_weight_unaccented,
            title=settings.title_weight,
        )

    def search(
        self,
        question: Question,
        snapshot: Snapshot,
        k: int,
        filters: dict[str, str | None] | None = None,
        mode: str = "hybrid",
    ) -> SearchResult:
        """The top ``k`` documents, each with its best chunk. ``mode`` 'bm25' (folded BM25 alone) and
        'dense' (embeddings alone) exist for the evaluator's comparisons."""
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode '{mode}': use one of {', '.join(MODES)}")
        started = time.perf_counter()
        mask = filter_mask(resolve_filters(filters, snapshot), snapshot)
        lexical = Ranking()
        if mode != "dense":
            lexical = (self.folded_lexical if mode == "bm25" else self.lexical).run(question, snapshot, mask)
        t1 = time.perf_counter()
        vector, dense = None, Ranking()
        if mode != "bm25":
            vector = self.dense.embed(question)
            dense = self.dense.run(vector, snapshot, mask)
        t2 = time.perf_counter()
        if mode == "hybrid":
            rankings = Rankings(
                dense,
                lexical,
                self.titles.run(question, snapshot, mask),
                self.codes.run(question, snapshot, mask),
            )
            fused = self.fuser.fuse(rankings, snapshot, question.accented)
        else:
            fused = {row: 1.0 / (rank + 1) for rank, row in enumerate(dense.items or lexical.items)}
        similarity = dict(zip(dense.items, dense.scores, strict=True))
        timings = {
            "bm25_ms": (t1 - started) * 1000,
            "dense_ms": (t2 - t1) * 1000,
            "total_ms": (time.perf_counter() - started) * 1000,
        }
        return SearchResult(
            question=question,
            hits=best_chunk_per_document(fused, similarity, snapshot, k),
            timings=timings,
            query_vector=vector,
            best_similarity=max(similarity.values(), default=0.0),
        )


def best_chunk_per_document(
    fused: dict[int, float], similarity: dict[int, float], snapshot: Snapshot, k: int
) -> list[Hit]:
    """The best-scoring chunk of each document, best first, ``k`` documents at most. A document with
    flagged lines (instructions to the assistant, requests for ID numbers) ranks after every unflagged
    one: an upload can never outrank a clean guide by what it claims."""
    flagged = {row for row in fused if snapshot.metadatas[row].get("flagged")}
    hits: list[Hit] = []
    seen: set[str] = set()
    for row, score in sorted(fused.items(), key=lambda item: (item[0] in flagged, -item[1])):
        if len(hits) >= k:
            break
        meta = snapshot.metadatas[row]
        if meta["doc_id"] in seen:
            continue
        seen.add(meta["doc_id"])
        hits.append(
            Hit(
                doc_id=meta["doc_id"],
                source=meta["source"],
                title=meta["title"],
                section=meta["section"],
                score=round(float(score), 6),
                text=snapshot.texts[row],
                chunk_id=snapshot.ids[row],
                url=meta.get("url", ""),
                kind=meta.get("kind", ""),
                field=meta.get("field", ""),
                level=meta.get("level", ""),
                code=meta.get("code", ""),
                similarity=round(similarity.get(row, 0.0), 4),
            )
        )
    return hits
