"""Retrieval: the rankers' lists fused into the best chunk of each of the top documents.

The question is routed by whether it carries diacritics: an accented one searches the accented BM25
field and embeds as typed; an unaccented one searches the folded field and embeds the accent-restored
text (multilingual-e5 cannot read Vietnamese without its diacritics).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from langchain_core.embeddings import Embeddings
from threadpoolctl import threadpool_limits

from assistant.config import Settings
from assistant.errors import UnknownFilter
from assistant.ingest.loaders import level_flag_key
from assistant.lexicon import spell_out
from assistant.pipeline.answers import AsDict
from assistant.pipeline.fusion import Fuser, Rankings, WeightedRRF
from assistant.pipeline.procedures import Candidate, Found, ProcedureRanker
from assistant.pipeline.question import Question
from assistant.pipeline.rankers import CodeRanker, DenseRanker, LexicalRanker, Ranking, TitleRanker
from assistant.pipeline.reorder import settled
from assistant.store.snapshot import Snapshot
from assistant.text import fold, folded_tokens

FILTER_KEYS = ("kind", "field", "level")
KINDS = ("procedure", "report", "other")
MODES = ("hybrid", "bm25", "dense")
FUSED_DOCUMENTS = 30  # documents of the fused list the procedure ranker weighs


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
    candidates: list[Candidate] = field(default_factory=list)  # hybrid: every document weighed, best first


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

    def __init__(
        self,
        embedder: Embeddings,
        settings: Settings,
        fuser: Fuser | None = None,
        procedures: ProcedureRanker | None = None,
    ) -> None:
        # The products a search runs besides dense search are small (the question against thousands of
        # names); OpenBLAS would spread each over every core, and its threads keep spinning afterwards,
        # which slowed the next query embedding about twofold (search p50 145 -> 90 ms at 112,000
        # chunks, eval/README.md). Concurrent requests use the cores instead. Process-wide.
        threadpool_limits(limits=1, user_api="blas")
        depth = settings.candidates
        self.procedures = procedures or ProcedureRanker.shipped()
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
        similarity = dict(zip(dense.items, dense.scores, strict=True))
        candidates: list[Candidate] = []
        if mode == "hybrid":
            rankings = Rankings(
                dense,
                lexical,
                self.titles.run(question, snapshot, mask),
                self.codes.run(question, snapshot, mask),
            )
            fused = self.fuser.fuse(rankings, snapshot, question.accented)
            documents = [
                (h.doc_id, snapshot.row_of[h.chunk_id], h.score)
                for h in best_chunk_per_document(fused, similarity, snapshot, FUSED_DOCUMENTS)
            ]
            lexical_scores = dict(zip(lexical.items, lexical.scores, strict=True))
            topical = self._topic_documents(question, snapshot, mask)
            found = Found(documents, lexical_scores, dense.items, vector, mask, topical)
            ranked = self.procedures.rank(question, snapshot, found)
            candidates = settled(question, snapshot, self.procedures.names(snapshot), ranked)
            hits = hits_of(candidates, snapshot, similarity, fused, k)
        else:
            fused = {row: 1.0 / (rank + 1) for rank, row in enumerate(dense.items or lexical.items)}
            hits = best_chunk_per_document(fused, similarity, snapshot, k)
        timings = {
            "bm25_ms": (t1 - started) * 1000,
            "dense_ms": (t2 - t1) * 1000,
            "total_ms": (time.perf_counter() - started) * 1000,
        }
        return SearchResult(
            question=question,
            hits=hits,
            timings=timings,
            query_vector=vector,
            best_similarity=max(similarity.values(), default=0.0),
            candidates=candidates,
        )

    def _topic_documents(
        self, question: Question, snapshot: Snapshot, mask: np.ndarray | None
    ) -> list[tuple[str, int, float]]:
        """Documents fused for the question's topic words alone, aspect words left out: "mất bao lâu"
        or "cần giấy gì" match the matching section of every guide and blur which procedure is meant."""
        if not question.topic_text or question.topic_text == question.text:
            return []
        topic = replace(
            question,
            text=question.topic_text if question.accented else fold(question.topic_text),
            words=tuple(folded_tokens(question.topic_text)),
            dense_text=spell_out(question.topic_text),
        )
        vector = self.dense.embed(topic)
        rankings = Rankings(
            self.dense.run(vector, snapshot, mask),
            self.lexical.run(topic, snapshot, mask),
            self.titles.run(topic, snapshot, mask),
            Ranking(),
        )
        fused = self.fuser.fuse(rankings, snapshot, question.accented)
        return [
            (h.doc_id, snapshot.row_of[h.chunk_id], h.score)
            for h in best_chunk_per_document(fused, {}, snapshot, FUSED_DOCUMENTS)
        ]


def hits_of(
    candidates: list[Candidate],
    snapshot: Snapshot,
    similarity: dict[int, float],
    fused: dict[int, float],
    k: int,
) -> list[Hit]:
    """The ranked documents as hits, flagged documents after every unflagged one."""
    ordered = sorted(candidates, key=lambda c: bool(snapshot.metadatas[c.row].get("flagged")))
    return [_hit(snapshot, c.row, fused.get(c.row, 0.0), similarity.get(c.row, 0.0)) for c in ordered[:k]]


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
        hits.append(_hit(snapshot, row, score, similarity.get(row, 0.0)))
    return hits


def _hit(snapshot: Snapshot, row: int, score: float, similarity: float) -> Hit:
    meta = snapshot.metadatas[row]
    return Hit(
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
        similarity=round(similarity, 4),
    )
