"""Hybrid retrieval: dense (Chroma) and lexical (bm25s) lists fused by weighted reciprocal rank.

The query is routed by whether it carries diacritics. An accented query searches the accented BM25
field and embeds as typed. An unaccented one searches the diacritic-folded BM25 field and embeds the
accent-restored text, because multilingual-e5 cannot read Vietnamese without its diacritics. Either
way the embedded text has its short forms spelled out ("hkd" -> "hộ kinh doanh").
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.abbreviations import spell_out
from assistant.config import Settings
from assistant.documents import level_flag_key
from assistant.index import IndexVersion, KnowledgeIndex, with_bigrams
from assistant.text import fold, folded_tokens, has_diacritics, normalize, tokens

FILTER_KEYS = ("kind", "field", "level")
KINDS = ("procedure", "report", "other")
MODES = ("hybrid", "bm25", "dense")
PORTAL_CODE = re.compile(r"\b\d\.\d{6}\b")
CODE_MATCH_BONUS = 1.0  # a procedure code typed by staff names the record outright


@dataclass
class Hit:
    doc_id: str
    source: str
    title: str
    section: str
    score: float
    text: str
    chunk_id: str
    url: str = ""
    kind: str = ""
    field: str = ""
    level: str = ""
    code: str = ""
    similarity: float = (
        0.0  # cosine similarity of the passage to the (restored) question; 0 if not dense-ranked
    )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class PreparedQuery:
    original: str
    normalized: str
    accented: bool
    dense_text: str


@dataclass
class SearchResult:
    query: PreparedQuery
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)
    query_vector: list[float] = field(default_factory=list)
    best_similarity: float = 0.0  # the closest passage to the question, fused ranking aside


class UnknownFilter(ValueError):
    """A filter value that names no kind, field or level in the index."""


class HybridRetriever:
    def __init__(self, index: KnowledgeIndex, embedder: Embeddings, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings

    def prepare(self, question: str, version: IndexVersion) -> PreparedQuery:
        text = normalize(question).strip()
        accented = has_diacritics(text)
        return PreparedQuery(
            original=question,
            normalized=text,
            accented=accented,
            dense_text=spell_out(text if accented else version.accents.restore(text)),
        )

    def resolve_filters(self, filters: dict[str, str | None] | None, version: IndexVersion) -> dict[str, str]:
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
                continue
            if key == "kind":
                if value not in KINDS:
                    raise UnknownFilter(f"loại tài liệu '{value}' không tồn tại; dùng: {', '.join(KINDS)}")
                resolved["kind"] = str(value)
                continue
            match = version.fields_by_folded.get(fold(str(value)).lower().strip())
            if not match:
                raise UnknownFilter(f"không có {key} nào tên '{value}' trong chỉ mục")
            resolved[key] = match
        return resolved

    @staticmethod
    def mask(filters: dict[str, str], version: IndexVersion) -> np.ndarray | None:
        if not filters:
            return None
        keep = [
            all((m.get(v) is True) if k == "level" else (m.get(k) == v) for k, v in filters.items())
            for m in version.metadatas
        ]
        return np.asarray(keep, dtype=np.float32)

    @staticmethod
    def _terms(query: PreparedQuery) -> list[str]:
        """Accented tokens for an accented question, folded tokens for one typed without diacritics."""
        return tokens(query.normalized) if query.accented else folded_tokens(query.normalized)

    def _top(self, scores: np.ndarray, mask: np.ndarray | None) -> list[int]:
        """Positions of the best positive scores, best first, within the mask."""
        if mask is not None:
            scores = scores * mask
        n = min(self.settings.candidates, len(scores))
        if n == 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        return [int(i) for i in sorted(top, key=lambda i: -scores[i]) if scores[i] > 0]

    def _lexical(self, query: PreparedQuery, version: IndexVersion, mask: np.ndarray | None) -> list[int]:
        terms = self._terms(query)
        if not terms or not version.ids:
            return []
        bm25 = version.bm25_raw if query.accented else version.bm25_folded
        return self._top(bm25.get_scores(terms), mask)

    def _title_ranking(
        self, query: PreparedQuery, version: IndexVersion, mask: np.ndarray | None
    ) -> list[str]:
        """Documents ranked by how well the question matches their title, aliases and code."""
        terms = self._terms(query)
        doc_ids = version.doc_ids
        if not terms or not doc_ids:
            return []
        bm25 = version.title_bm25_raw if query.accented else version.title_bm25_folded
        allowed = None
        if mask is not None:
            allowed = np.asarray([mask[version.doc_chunks(d)[0]] for d in doc_ids], dtype=np.float32)
        return [doc_ids[i] for i in self._top(bm25.get_scores(with_bigrams(terms)), allowed)]

    def _code_matches(
        self, query: PreparedQuery, version: IndexVersion, mask: np.ndarray | None
    ) -> list[int]:
        """Chunks of the records whose portal code the question names, best lexical match first."""
        codes = PORTAL_CODE.findall(query.normalized)
        if not codes:
            return []
        named = np.asarray(
            [any(code in m.get("code", "") for code in codes) for m in version.metadatas], dtype=np.float32
        )
        if not named.any():
            return []
        ranked = self._lexical(query, version, named if mask is None else named * mask)
        fallback = [int(i) for i in np.flatnonzero(named) if mask is None or mask[i]]
        return list(dict.fromkeys(ranked + fallback))

    def _dense(
        self, query: PreparedQuery, version: IndexVersion, mask: np.ndarray | None
    ) -> tuple[list[int], dict[int, float], list[float]]:
        """Rows ranked by the embedder, each row's cosine similarity, and the query vector."""
        vector = self.embedder.embed_query(query.dense_text)
        if not version.ids:
            return [], {}, vector
        unit = np.asarray(vector, dtype=np.float32)
        # einsum, not @: a BLAS product runs on OpenBLAS's threads, which keep spinning afterwards and
        # slowed the next query embedding from about 22 to 60 ms at 15k chunks (eval/README.md).
        similarity = np.einsum("ij,j->i", version.vectors, unit / (np.linalg.norm(unit) or 1.0))
        if mask is not None:
            similarity = np.where(mask > 0, similarity, -np.inf)
        n = min(self.settings.candidates, len(similarity))
        top = np.argpartition(-similarity, n - 1)[:n]
        rows = [int(r) for r in sorted(top, key=lambda r: -similarity[r]) if similarity[r] > -np.inf]
        return rows, {row: float(similarity[row]) for row in rows}, vector

    def search(
        self,
        question: str,
        k: int | None = None,
        filters: dict[str, str | None] | None = None,
        mode: str = "hybrid",
    ) -> SearchResult:
        """Top documents for a question, each with its best chunk.

        ``mode`` is 'hybrid' (the pipeline), or 'bm25' (folded BM25 alone) or 'dense' (embeddings
        alone) for comparisons in the evaluator.
        """
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode '{mode}': use one of {', '.join(MODES)}")
        started = time.perf_counter()
        version = self.index.current()
        query = self.prepare(question, version)
        resolved = self.resolve_filters(filters, version)
        t0 = time.perf_counter()
        mask = self.mask(resolved, version)
        lexical_query = query if mode != "bm25" else replace(query, accented=False)
        lexical = self._lexical(lexical_query, version, mask) if mode != "dense" else []
        t1 = time.perf_counter()
        dense, similarity, vector = [], {}, []
        if mode != "bm25":
            dense, similarity, vector = self._dense(query, version, mask)
        t2 = time.perf_counter()
        fused = (
            self._fuse(query, version, mask, dense, lexical)
            if mode == "hybrid"
            else {row: 1.0 / (rank + 1) for rank, row in enumerate(dense or lexical)}
        )
        hits: list[Hit] = []
        # A document with flagged lines (instructions to the assistant, requests for ID numbers) ranks
        # after every unflagged one: an upload can never outrank a clean guide by what it claims.
        flagged = {row for row in fused if version.metadatas[row].get("flagged")}
        for row, score in sorted(fused.items(), key=lambda item: (item[0] in flagged, -item[1])):
            if len(hits) >= (k or self.settings.top_k):
                break
            if all(h.doc_id != version.metadatas[row]["doc_id"] for h in hits):
                hits.append(self._hit(version, row, score, similarity.get(row, 0.0)))
        timings = {
            "prepare_ms": (t0 - started) * 1000,
            "bm25_ms": (t1 - t0) * 1000,
            "dense_ms": (t2 - t1) * 1000,
            "total_ms": (time.perf_counter() - started) * 1000,
        }
        return SearchResult(
            query=query,
            hits=hits,
            timings=timings,
            query_vector=vector,
            best_similarity=max(similarity.values(), default=0.0),
        )

    def _fuse(
        self,
        query: PreparedQuery,
        version: IndexVersion,
        mask: np.ndarray | None,
        dense: list[int],
        lexical: list[int],
    ) -> dict[int, float]:
        """Weighted reciprocal-rank fusion of chunk rankings, the title ranking and code matches."""
        s = self.settings
        weights = (
            (s.dense_weight_accented, s.bm25_weight_accented)
            if query.accented
            else (s.dense_weight_unaccented, s.bm25_weight_unaccented)
        )
        fused: dict[int, float] = {}
        for weight, ranking in zip(weights, (dense, lexical), strict=True):
            for rank, row in enumerate(ranking):
                fused[row] = fused.get(row, 0.0) + weight / (s.rrf_k + rank + 1)
        for rank, doc_id in enumerate(self._title_ranking(query, version, mask)):
            rows = version.doc_chunks(doc_id)
            for row in [r for r in rows if r in fused] or rows[:1]:
                fused[row] = fused.get(row, 0.0) + s.title_weight / (s.rrf_k + rank + 1)
        for rank, row in enumerate(self._code_matches(query, version, mask)):
            fused[row] = fused.get(row, 0.0) + CODE_MATCH_BONUS / (1 + rank * 0.01)
        return fused

    @staticmethod
    def _hit(version: IndexVersion, row: int, score: float, similarity: float) -> Hit:
        meta = version.metadatas[row]
        return Hit(
            doc_id=meta["doc_id"],
            source=meta["source"],
            title=meta["title"],
            section=meta["section"],
            score=round(float(score), 6),
            text=version.texts[row],
            chunk_id=version.ids[row],
            url=meta.get("url", ""),
            kind=meta.get("kind", ""),
            field=meta.get("field", ""),
            level=meta.get("level", ""),
            code=meta.get("code", ""),
            similarity=round(similarity, 4),
        )
