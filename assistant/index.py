"""The knowledge index: a persistent Chroma collection (dense) plus bm25s indexes (lexical).

Layout of an index directory::

    CURRENT                  name of the version that is served, replaced atomically
    versions/vNNNN/          one complete, consistent index
        chroma/              Chroma persistent store (embeddings always passed in explicitly)
        bm25_raw/ bm25_folded/   bm25s over accented and diacritic-folded tokens
        chunks.jsonl         chunk ids, texts and metadata, in BM25 row order
        accents.pkl          the accent restorer learnt from this version's text
        manifest.json        per-file content hashes: what makes re-ingestion incremental
    embeddings.sqlite        cache of passage vectors by text hash, shared by all versions
    ingest.lock              one ingest at a time

Chroma is where vectors are stored; on loading a version they are read into memory (1.5 KB a chunk for
384 dimensions) and dense search ranks all of them exactly (see ``unit_vectors``).

An ingest builds the next version in a temporary folder and only then points CURRENT at it, so a crash
or Ctrl-C leaves the previous version served, and vectors already computed stay in the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlparse

import bm25s
import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from assistant.accents import AccentModel
from assistant.chunking import chunk_documents, dense_text, lexical_text
from assistant.documents import SUPPORTED_SUFFIXES, LoadError, load_file
from assistant.embeddings import embedder_name
from assistant.text import fold, folded_tokens, tokens

COLLECTION = "chunks"
# Bump when loading or chunking changes: every file is then re-read (vectors still come from the cache).
PIPELINE_VERSION = "3"
CHROMA_BATCH = 4000  # below Chroma's add limit of about 5,461
EMBED_BATCH = 64


FLAGGED_WARNING = (
    "đã bỏ ra khỏi chỉ mục các dòng giống chỉ dẫn cho trợ lý hoặc đòi thông tin cá nhân; tài liệu này "
    "xếp sau mọi tài liệu không bị gắn cờ"
)


class IndexError_(RuntimeError):
    """The index is missing, unreadable or cannot be written; the message says what to do."""


@dataclass
class IngestReport:
    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # indexed, with lines left out
    removed: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_from_cache: int = 0
    seconds: float = 0.0
    version: str = ""

    def summary(self) -> str:
        return (
            f"Đã lập chỉ mục {len(self.indexed)} tệp, bỏ qua {len(self.unchanged) + len(self.skipped)} "
            f"(không đổi {len(self.unchanged)}, không hỗ trợ {len(self.skipped)}), lỗi {len(self.failed)}, "
            f"cảnh báo {len(self.warnings)}, xoá {len(self.removed)}; "
            f"{self.chunks_embedded} đoạn mới được nhúng, "
            f"{self.chunks_from_cache} lấy từ bộ nhớ đệm; {self.seconds:.1f} s."
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "indexed": self.indexed,
            "unchanged": len(self.unchanged),
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "failed": [{"file": f, "reason": r} for f, r in self.failed],
            "warnings": [{"file": f, "reason": r} for f, r in self.warnings],
            "removed": self.removed,
            "chunks_embedded": self.chunks_embedded,
            "chunks_from_cache": self.chunks_from_cache,
            "seconds": round(self.seconds, 2),
            "version": self.version,
        }


def chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def pages(collection: chromadb.Collection, count: int, include: list[str]) -> Iterator[dict]:
    """A collection's records, read in pages small enough for Chroma."""
    for offset in range(0, count, CHROMA_BATCH):
        yield collection.get(limit=CHROMA_BATCH, offset=offset, include=include)


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
            self.collection_name(version), embedding_function=None, metadata={"hnsw:space": "cosine"}
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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _discover(paths: Iterable[Path]) -> Iterator[tuple[Path, Path, Path | None]]:
    """Yield (file, root for its relative source name, directory root or None for a lone file)."""
    for raw in paths:
        path = raw.resolve()
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(path)
                if file.is_file() and not any(part.startswith(".") for part in rel.parts):
                    yield file, path, path
        elif path.is_file():
            yield path, path.parent, None
        else:
            raise IndexError_(f"không tìm thấy '{raw}'")


class EmbeddingCache:
    """Passage vectors by hash of (embedder, text): each distinct chunk is embedded once, ever."""

    def __init__(self, path: Path, model_name: str) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
        self._model = model_name

    def key(self, text: str) -> str:
        return _sha256(f"{self._model}\n{text}".encode())

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
            [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def with_bigrams(words: list[str]) -> list[str]:
    """Words plus joined neighbours, so 'đăng ký kết hôn' matches its own name better than a variant."""
    return words + [f"{a}_{b}" for a, b in pairwise(words)]


@dataclass
class IndexVersion:
    """One published, read-only version of the index, loaded for searching."""

    path: Path
    manifest: dict
    ids: list[str]
    texts: list[str]
    metadatas: list[dict]
    bm25_raw: bm25s.BM25
    bm25_folded: bm25s.BM25
    accents: AccentModel
    collection: chromadb.Collection
    row_of: dict[str, int] = field(init=False)
    vectors: np.ndarray = field(init=False)  # unit length, one row per chunk
    rows_of_doc: dict[str, list[int]] = field(init=False)
    title_bm25_raw: bm25s.BM25 = field(init=False)
    fields_by_folded: dict[str, str] = field(init=False)
    title_bm25_folded: bm25s.BM25 = field(init=False)

    def __post_init__(self) -> None:
        self.row_of = {chunk_id: row for row, chunk_id in enumerate(self.ids)}
        self.vectors = unit_vectors(self.collection, self.row_of)
        self.rows_of_doc = {}
        for row, meta in enumerate(self.metadatas):
            self.rows_of_doc.setdefault(meta["doc_id"], []).append(row)
        # Field filters match ignoring case and diacritics; folded once here, not on every search.
        self.fields_by_folded = {fold(m.get("field", "")).lower(): m.get("field", "") for m in self.metadatas}
        # A small per-document index of titles, aliases and codes: how people name a procedure.
        names = [self._doc_name(rows[0]) for rows in self.rows_of_doc.values()]
        self.title_bm25_raw = self._bm25([with_bigrams(tokens(n)) for n in names])
        self.title_bm25_folded = self._bm25([with_bigrams(folded_tokens(n)) for n in names])

    def _doc_name(self, row: int) -> str:
        meta = self.metadatas[row]
        return f"{meta['title']} {meta.get('aliases', '')} {meta.get('code', '')}"

    @staticmethod
    def _bm25(corpus: list[list[str]]) -> bm25s.BM25:
        bm25 = bm25s.BM25()
        if corpus:
            bm25.index(corpus, show_progress=False)
        return bm25

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def doc_ids(self) -> list[str]:
        return list(self.rows_of_doc)

    def doc_chunks(self, doc_id: str) -> list[int]:
        """Row numbers of one document's chunks, in reading order."""
        return self.rows_of_doc.get(doc_id, [])


class KnowledgeIndex:
    """Builds versions of the index and serves the current one."""

    def __init__(
        self,
        index_dir: Path,
        embedder: Embeddings,
        chunk_chars: int = 900,
        overlap: int = 120,
        embedding_cache: Path | None = None,
        chroma_url: str = "",
    ):
        self.dir = Path(index_dir)
        self.store = VectorStore(chroma_url)
        self.cache_path = Path(embedding_cache) if embedding_cache else self.dir / "embeddings.sqlite"
        self.embedder = embedder
        self.chunk_chars = chunk_chars
        self.overlap = overlap
        self._loaded: IndexVersion | None = None
        self._retired: IndexVersion | None = None  # the version served before, for requests in flight
        self._switching = threading.Lock()

    # ---- reading -------------------------------------------------------------------------------

    def current_name(self) -> str | None:
        try:
            return (self.dir / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def exists(self) -> bool:
        return self.current_name() is not None

    def current(self) -> IndexVersion:
        """The served version, reloaded when another process has published a newer one."""
        name = self.current_name()
        if name is None:
            raise IndexError_(f"chưa có chỉ mục trong '{self.dir}': chạy 'assistant ingest corpus/' trước")
        loaded = self._loaded
        if loaded is not None and loaded.name == name:
            return loaded
        with self._switching:  # threads that see a new version at once load it once
            if self._loaded is None or self._loaded.name != name:
                loaded = self._load_version(self.dir / "versions" / name)
                if self._retired is not None:
                    self.store.release(self._retired.path)
                self._retired, self._loaded = self._loaded, loaded
            return self._loaded

    def _load_version(self, path: Path) -> IndexVersion:
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            rows = [json.loads(line) for line in (path / "chunks.jsonl").open(encoding="utf-8")]
            collection = self.store.open(path)
            return IndexVersion(
                path=path,
                manifest=manifest,
                ids=[r["id"] for r in rows],
                texts=[r["text"] for r in rows],
                metadatas=[r["meta"] for r in rows],
                bm25_raw=bm25s.BM25.load(str(path / "bm25_raw"), load_vocab=True, show_progress=False),
                bm25_folded=bm25s.BM25.load(str(path / "bm25_folded"), load_vocab=True, show_progress=False),
                accents=AccentModel.load(path / "accents.pkl"),
                collection=collection,
            )
        except (OSError, ValueError, KeyError, ChromaError) as exc:
            hint = " (Chroma cần quyền ghi vào thư mục chỉ mục)" if "readonly" in str(exc) else ""
            raise IndexError_(f"không đọc được chỉ mục '{path}': {exc}{hint}") from exc

    def stats(self) -> dict[str, object]:
        version = self.current()
        size = sum(f.stat().st_size for f in self.dir.rglob("*") if f.is_file())
        return {
            "documents": len({m["doc_id"] for m in version.metadatas}),
            "chunks": len(version.ids),
            "files": len(version.manifest["files"]),
            "index_bytes": size,
            "index_dir": str(self.dir.resolve()),
            "version": version.name,
            "embedder": version.manifest["embedder"],
            "built_at": version.manifest["built_at"],
        }

    # ---- writing -------------------------------------------------------------------------------

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "ingest.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise IndexError_("một lần nạp dữ liệu khác đang chạy trên chỉ mục này") from exc
            yield

    def ingest(
        self,
        paths: Iterable[Path],
        progress: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Bring the index in line with the given files and folders, re-embedding only what changed."""
        started = time.perf_counter()
        report = IngestReport()
        try:
            with self._lock():
                self._ingest_locked(list(paths), report, progress, on_progress)
        except (OSError, ChromaError) as exc:  # a full disk surfaces as either, depending on who writes
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise IndexError_(f"không ghi được chỉ mục vào '{self.dir}': {reason}") from exc
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_locked(
        self,
        paths: list[Path],
        report: IngestReport,
        progress: bool,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        previous = self.current() if self.exists() else None
        old_files: dict[str, dict] = dict(previous.manifest["files"]) if previous else {}
        model = embedder_name(self.embedder)
        if previous and previous.manifest["embedder"] != model:
            old_files = {}  # another embedding space: everything is re-embedded

        same_pipeline = bool(previous) and previous.manifest.get("pipeline") == PIPELINE_VERSION
        seen: set[str] = set()
        dir_roots: set[str] = set()
        new_chunks: list[Document] = []
        new_files: dict[str, dict] = {}
        owners = {entry["doc_id"]: key for key, entry in old_files.items()}
        for file, root, dir_root in _discover(paths):
            key = str(file)
            if dir_root is not None:
                dir_roots.add(str(dir_root))
            seen.add(key)
            label = file.relative_to(root).as_posix()
            if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                report.skipped.append((label, f"định dạng '{file.suffix or 'không có đuôi'}' không hỗ trợ"))
                continue
            digest = _sha256(file.read_bytes())
            if same_pipeline and key in old_files and old_files[key]["sha256"] == digest:
                report.unchanged.append(label)
                continue
            try:
                chunks = chunk_documents(load_file(file, root), self.chunk_chars, self.overlap)
            except LoadError as exc:
                report.failed.append((label, str(exc)))
                continue
            doc_id = chunks[0].metadata["doc_id"]
            owner = owners.get(doc_id)
            if owner is not None and owner != key and (owner in seen or Path(owner).exists()):
                report.failed.append((label, f"mã tài liệu '{doc_id}' đã được tệp khác dùng: {owner}"))
                continue
            owners[doc_id] = key
            flagged = list(dict.fromkeys(c.metadata["flagged"] for c in chunks if c.metadata.get("flagged")))
            if flagged:
                report.warnings.append((label, f"{FLAGGED_WARNING}: {' | '.join(flagged)[:500]}"))
            new_chunks.extend(chunks)
            new_files[key] = {
                "sha256": digest,
                "doc_id": doc_id,
                "source": label,
                "root": str(root),
                "chunk_ids": [c.metadata["chunk_id"] for c in chunks],
            }
            report.indexed.append(label)

        removed = [
            key
            for key, entry in old_files.items()
            if key not in seen and entry["root"] in dir_roots and not Path(key).exists()
        ]
        report.removed = [old_files[key]["source"] for key in removed]
        if previous and not new_files and not removed and old_files:
            report.version = previous.name
            return

        files = {k: v for k, v in old_files.items() if k not in removed}
        stale_ids = {
            cid for key in [*removed, *new_files] if key in old_files for cid in old_files[key]["chunk_ids"]
        }
        files.update(new_files)
        self._publish(
            previous if old_files else None, files, stale_ids, new_chunks, report, progress, on_progress
        )

    def embed_texts(
        self,
        texts: list[str],
        progress: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[np.ndarray], int]:
        """Passage vectors for the texts, embedding only what the cache lacks; returns (vectors, embedded)."""
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache = EmbeddingCache(self.cache_path, embedder_name(self.embedder))
        try:
            keys = [cache.key(t) for t in texts]
            vectors = cache.get_many(keys)
            todo = list(dict.fromkeys(k for k in keys if k not in vectors))
            text_of = dict(zip(keys, texts, strict=True))
            bar = tqdm(
                total=len(todo),
                unit="đoạn",
                desc="Nhúng văn bản",
                disable=not progress or not todo,
                dynamic_ncols=True,
            )
            for start in range(0, len(todo), EMBED_BATCH):
                batch = todo[start : start + EMBED_BATCH]
                embedded = self.embedder.embed_documents([text_of[k] for k in batch])
                fresh = dict(zip(batch, (np.asarray(v, dtype=np.float32) for v in embedded), strict=True))
                cache.put_many(fresh)
                vectors.update(fresh)
                bar.update(len(batch))
                if on_progress:
                    on_progress(start + len(batch), len(todo))
            bar.close()
            return [vectors[k] for k in keys], len(todo)
        finally:
            cache.close()

    def _publish(
        self,
        previous: IndexVersion | None,
        files: dict[str, dict],
        stale_ids: set[str],
        new_chunks: list[Document],
        report: IngestReport,
        progress: bool,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        versions = self.dir / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        number = 1 + max((int(p.name[1:5]) for p in versions.glob("v[0-9][0-9][0-9][0-9]")), default=0)
        name = f"v{number:04d}"
        for leftover in versions.glob(".v*.building-*"):  # from an ingest that was killed; we hold the lock
            shutil.rmtree(leftover, ignore_errors=True)
        staging = versions / f".{name}.building-{os.getpid()}"
        try:
            vectors, embedded = self.embed_texts([dense_text(c) for c in new_chunks], progress, on_progress)
            report.chunks_embedded = embedded
            report.chunks_from_cache = len(new_chunks) - embedded
            staging.mkdir(parents=True, exist_ok=True)
            # What the version serves: the previous version's chunks that are still current, then the
            # new ones. The previous vectors come from memory, not read back from Chroma.
            kept = [] if previous is None else [r for r, i in enumerate(previous.ids) if i not in stale_ids]
            rows = [
                {"id": previous.ids[r], "text": previous.texts[r], "meta": previous.metadatas[r]}
                for r in kept
            ]
            rows += [
                {"id": c.metadata["chunk_id"], "text": c.page_content, "meta": c.metadata} for c in new_chunks
            ]
            blocks = ([previous.vectors[kept]] if kept else []) + vectors
            matrix = np.vstack(blocks) if blocks else np.zeros((0, 0), dtype=np.float32)
            collection = self.store.create(staging, name)
            for start in range(0, len(rows), CHROMA_BATCH):
                part = rows[start : start + CHROMA_BATCH]
                collection.add(
                    ids=[r["id"] for r in part],
                    embeddings=matrix[start : start + CHROMA_BATCH],
                    documents=[r["text"] for r in part],
                    metadatas=[r["meta"] for r in part],
                )
            self._write_lexical(staging, rows)
            manifest = {
                "pipeline": PIPELINE_VERSION,
                "embedder": embedder_name(self.embedder),
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": files,
            }
            (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
            del collection
            self.store.release(staging)
            final = versions / name
            staging.rename(final)
            pointer = self.dir / f".CURRENT.{os.getpid()}"
            pointer.write_text(name)
            with open(pointer) as handle:
                os.fsync(handle.fileno())
            os.replace(pointer, self.dir / "CURRENT")
            report.version = name
        except BaseException:
            self.store.release(staging)
            shutil.rmtree(staging, ignore_errors=True)
            self.store.drop(name)
            raise
        self._prune(keep={name, previous.name if previous else name})

    @staticmethod
    def _write_lexical(staging: Path, rows: list[dict]) -> None:
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        texts = [lexical_text(Document(page_content=r["text"], metadata=r["meta"])) for r in rows]
        for name, tokenize in (("bm25_raw", tokens), ("bm25_folded", folded_tokens)):
            bm25 = bm25s.BM25()
            bm25.index([tokenize(t) for t in texts], show_progress=False)
            bm25.save(str(staging / name), show_progress=False)
        AccentModel.build(texts).save(staging / "accents.pkl")

    def _prune(self, keep: set[str]) -> None:
        """Delete old versions; the one before the newest stays for processes still reading it."""
        for path in (self.dir / "versions").iterdir():
            if path.name not in keep and not path.name.startswith("."):
                self.store.release(path)
                shutil.rmtree(path, ignore_errors=True)
                self.store.drop(path.name)
