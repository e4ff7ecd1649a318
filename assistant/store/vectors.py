"""Where the vectors live. Chroma holds the served version's vectors, one collection per index (a folder
beside the versions, or one collection on a Chroma server shared by several app replicas), and each
publish applies only its change to it. Beside it, the index keeps every version's unit vectors in an
append-only pack (``store/vector_pack.py``), which searching processes memory-map for exact dense
search: a version's vectors never change once published, whatever Chroma holds meanwhile.

Reading the vectors back through Chroma cost a searching process 317 MB more than the vectors
themselves at 88,000 chunks (Chroma's caches, and each vector returned as a list of Python floats) and
took 9.5 s; the mapped pack costs its own 1.5 KB a chunk, in pages every replica on the machine
shares, and loads at once (eval/README.md, "Memory of a searching process"). Filling a fresh collection
for every version made each publish cost in proportion to the whole index (19 s of 84 s at 99,000
chunks, eval/README.md), so the collection is kept and changed instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from assistant.store import vector_pack
from assistant.store.vector_pack import RowVectors

COLLECTION = "chunks"
MATRIX = "vectors.npy"  # a version's own vectors, as versions before packs (store/vector_pack.py) kept them
SYNCED = "chroma.synced"  # in the index folder: the version whose vectors the collection holds
CHROMA_BATCH = 4000  # below Chroma's add limit of about 5,461
# Vectors are read back in smaller pages: Chroma returns each as a list of Python floats (about 12 KB
# a vector), and 4,000 at once doubled a searching process's peak memory while a version loaded.
READ_PAGE = 500
# Chroma builds an HNSW graph over the collection. Dense search here ranks all vectors exactly in
# memory and never asks that graph, so it is built cheaply (1.5 s instead of 4.3 s for 17,700
# vectors when the collection is filled). Its recall@10 against exact search is 0.45 at 100k vectors; a
# deployment that searches Chroma itself needs M 32, construction_ef 200, search_ef 128 for 0.99 or
# more (eval/bench_hnsw.py, eval/README.md).
HNSW = {"hnsw:space": "cosine", "hnsw:construction_ef": 16, "hnsw:M": 8}


def chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def pages(collection: chromadb.Collection, count: int, include: list[str]) -> Iterator[dict]:
    """A collection's records, read in pages small enough for Chroma and for memory."""
    for offset in range(0, count, READ_PAGE):
        yield collection.get(limit=READ_PAGE, offset=offset, include=include)


def served_vectors(
    version_path: Path, ids: list[str], legacy: Callable[[], chromadb.Collection]
) -> RowVectors:
    """What dense search ranks: the version's rows of the index's pack (``store/vector_pack.py``); for
    a version published before packs, its own matrix file, memory-mapped, or its own Chroma collection
    (``legacy``) when it is older still."""
    packed = vector_pack.load(version_path)
    if packed is not None:
        return packed
    path = version_path / MATRIX
    if path.exists():
        return RowVectors.whole(np.load(path, mmap_mode="r"))
    return RowVectors.whole(unit_vectors(legacy(), {chunk_id: row for row, chunk_id in enumerate(ids)}))


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
    """The index's Chroma collection: embedded in the index folder, or on a Chroma server shared by
    several app replicas (``chroma_url``). Versions published before the collection was shared have
    their own (a folder inside the version, or ``chunks_vNNNN`` on the server), read only by
    ``served_vectors`` and dropped with their version."""

    def __init__(self, chroma_url: str = "") -> None:
        self.url = chroma_url
        self._server: chromadb.ClientAPI | None = None
        self._embedded: dict[Path, chromadb.ClientAPI] = {}
        self._lock = threading.Lock()

    def client(self, folder: Path) -> chromadb.ClientAPI:
        """The server's client, or the embedded one of a folder that holds a ``chroma`` store."""
        if not self.url:
            folder = folder / "chroma"
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

    def ping(self) -> None:
        """Raise when the Chroma server is out of reach; searching never needs an embedded store."""
        if self.url:
            self.client(Path()).heartbeat()

    def shared(self, index_dir: Path) -> chromadb.Collection:
        return self.client(index_dir).get_or_create_collection(
            COLLECTION, embedding_function=None, metadata=HNSW
        )

    def fresh(self, index_dir: Path) -> chromadb.Collection:
        """The index's collection emptied, for a publish that cannot tell what it holds."""
        with suppress(Exception):  # chromadb raises different errors for "not there" by version
            self.client(index_dir).delete_collection(COLLECTION)
        return self.shared(index_dir)

    def legacy(self, version_path: Path) -> chromadb.Collection:
        """The collection of a version published before the index had one shared collection."""
        name = _legacy_name(version_path.name) if self.url else COLLECTION
        return self.client(version_path).get_collection(name, embedding_function=None)

    def release(self, folder: Path) -> None:
        """Close an embedded client. Chroma otherwise keeps each opened folder's system (SQLite
        connection, vector caches) for the life of the process (about 9 MB each), and a client kept
        open while another process publishes would hold a stale copy of the collection."""
        with self._lock:
            client = self._embedded.pop(folder / "chroma", None)
        if client is not None:
            client.close()

    def drop_legacy(self, version: str) -> None:
        """Forget a pruned version's own server collection, if it had one (embedded ones go with their
        folder)."""
        if self.url:
            with suppress(Exception):
                self.client(Path()).delete_collection(_legacy_name(version))


def _legacy_name(version: str) -> str:
    """A version's own collection on a Chroma server, as earlier releases named it."""
    return f"{COLLECTION}_{version}"
