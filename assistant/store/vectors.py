"""Where each version's vectors live: a Chroma folder inside the version (embedded), or one collection per
version on a Chroma server shared by several app replicas; beside it, the version's unit vectors in row
order as one matrix file (``vectors.npy``), which searching processes memory-map for exact dense search.

Reading the vectors back through Chroma cost a searching process 317 MB more than the vectors
themselves at 88,000 chunks (Chroma's caches, and each vector returned as a list of Python floats) and
took 9.5 s; the mapped matrix costs its own 1.5 KB a chunk, in pages every replica on the machine
shares, and loads at once (eval/README.md, "Memory of a searching process")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

COLLECTION = "chunks"
MATRIX = "vectors.npy"
CHROMA_BATCH = 4000  # below Chroma's add limit of about 5,461
# Vectors are read back in smaller pages: Chroma returns each as a list of Python floats (about 12 KB
# a vector), and 4,000 at once doubled a searching process's peak memory while a version loaded.
READ_PAGE = 500
# Chroma builds an HNSW graph over every collection. Dense search here ranks all vectors exactly in
# memory and never asks that graph, so it is built cheaply: 1.5 s instead of 4.3 s for 17,700
# vectors, on every version published. Its recall@10 against exact search is 0.45 at 100k vectors; a
# deployment that searches Chroma itself needs M 32, construction_ef 200, search_ef 128 for 0.99 or
# more (eval/bench_hnsw.py, eval/README.md).
HNSW = {"hnsw:space": "cosine", "hnsw:construction_ef": 16, "hnsw:M": 8}


def chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def pages(collection: chromadb.Collection, count: int, include: list[str]) -> Iterator[dict]:
    """A collection's records, read in pages small enough for Chroma and for memory."""
    for offset in range(0, count, READ_PAGE):
        yield collection.get(limit=READ_PAGE, offset=offset, include=include)


def save_matrix(version_path: Path, matrix: np.ndarray) -> None:
    """The version's vectors in row order, scaled to unit length, for ``served_vectors``."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True) if len(matrix) else 1.0
    np.save(version_path / MATRIX, (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32))


def served_vectors(version_path: Path, collection: chromadb.Collection, row_of: dict[str, int]) -> np.ndarray:
    """What dense search ranks: the version's matrix file, memory-mapped; read from Chroma for versions
    published before the file was written (the next publish writes it)."""
    path = version_path / MATRIX
    if path.exists():
        return np.load(path, mmap_mode="r")
    return unit_vectors(collection, row_of)


def unit_vectors(collection: chromadb.Collection, row_of: dict[str, int]) -> np.ndarray:
    """Every vector of a collection at its row, scaled to unit length.

    Dense search ranks all of them exactly instead of asking Chroma's HNSW graph, which missed a
    just-uploaded document's only chunk (cosine 0.92 against 0.85 for the next) in about one upload
    of fifteen, even with 200 results asked for."""
    vectors: np.ndarray | None = None
    for page in pages(collection, len(row_of), ["embeddings"]):
        block = np.asarray(page["embeddings"], dtype=np.float32)
        if vectors is None:
            vectors = np.zeros((len(row_of), block.shape[1]), dtype=np.float32)
        vectors[[row_of[i] for i in page["ids"]]] = block
    if vectors is None:
        return np.zeros((0, 0), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


class VectorStore:
    """Where each version's vectors live: a Chroma folder inside the version (embedded), or one
    collection per version on a Chroma server shared by several app replicas (``chroma_url``)."""

    def __init__(self, chroma_url: str = "") -> None:
        self.url = chroma_url
        self._server: chromadb.ClientAPI | None = None
        self._embedded: dict[Path, chromadb.ClientAPI] = {}
        self._lock = threading.Lock()

    def client(self, version_path: Path) -> chromadb.ClientAPI:
        if not self.url:
            folder = version_path / "chroma"
            with self._lock:
                if folder not in self._embedded:
                    self._embedded[folder] = chromadb.PersistentClient(
                        path=str(folder), settings=chroma_settings()
                    )
                return self._embedded[folder]
        if self._server is None:
            parsed = urlparse(self.url)
            self._server = chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 8000,
                ssl=parsed.scheme == "https",
                settings=chroma_settings(),
            )
        return self._server

    def collection_name(self, version: str) -> str:
        return f"{COLLECTION}_{version}" if self.url else COLLECTION

    def open(self, version_path: Path) -> chromadb.Collection:
        client = self.client(version_path)
        return client.get_collection(self.collection_name(version_path.name), embedding_function=None)

    def create(self, staging: Path, version: str) -> chromadb.Collection:
        """A new, empty collection for the version; the caller fills it with every vector it serves.

        The previous version's vectors are added again rather than its Chroma folder copied: a copied
        folder keeps the collection's id, and Chroma caches vector indexes by that id within a process,
        so a server that switched versions could go on searching the old vectors and miss every
        document just added."""
        self.drop(version)  # left over from an ingest that died before publishing
        return self.client(staging).create_collection(
            self.collection_name(version), embedding_function=None, metadata=HNSW
        )

    def release(self, version_path: Path) -> None:
        """Close the embedded client of a version no longer served. Chroma otherwise keeps each opened
        folder's system (SQLite connection, vector caches) for the life of the process: about 9 MB
        for every version an app publishes."""
        with self._lock:
            client = self._embedded.pop(version_path / "chroma", None)
        if client is not None:
            client.close()

    def drop(self, version: str) -> None:
        """Forget a version's server collection (embedded ones go with their folder)."""
        if self.url:
            with suppress(Exception):  # chromadb raises different errors for "not there" by version
                self.client(Path(version)).delete_collection(self.collection_name(version))
