"""The knowledge index: a persistent Chroma collection (dense) plus BM25 fields (lexical).

Layout of an index directory::

    CURRENT                  name of the version that is served, replaced atomically
    chroma/                  Chroma persistent store: the served version's chunk ids and vectors
    chroma.synced            the version whose vectors chroma/ holds (absent while a publish changes it)
    packs/                   vectors, chunk lines and lexical forms of the versions, appended to by each
                             publish (store/packs.py)
    versions/vNNNN/          one consistent index, with the packs it names
        terms_raw/ terms_folded/ BM25 over accented and diacritic-folded words (store/terms.py)
        vectors.json, vector_rows.npy  which pack holds its vectors, and each row's place in it
        lines.json           which packs hold its chunk lines (ids, texts, metadata) and lexical forms
        chunks_spans.npy     where each chunk's line is in its pack, in BM25 row order (read on demand)
        docs.json, rows.jsonl  the same metadata in compact form, what loading a version reads
        names.npy            one vector per document for its name (title, aliases)
        doc_words.json       each document's folded words, for the procedure ranker
        accents.pkl          the accent restorer learnt from this version's text
        lexical_spans.npy    where each chunk's form (as BM25 and the accent restorer read it) is in its pack
        manifest.json        per-file content hashes: what makes re-ingestion incremental
    embeddings.sqlite        cache of passage vectors by text hash, shared by all versions
    ingest.lock              one ingest at a time

Chroma holds the vectors and each publish applies only its change to it; searching maps the version's
rows of the pack and ranks them exactly (``store/vectors.py``). A publish appends its new rows to the
packs and extends the rest, never re-indexing what was there (eval/README.md, "Publishing").
An ingest builds the next version in a temporary folder and only then points CURRENT at it, so a crash
or Ctrl-C leaves the previous version served, and vectors already computed stay in the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from chromadb.errors import ChromaError
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from assistant import lexicon
from assistant.errors import IndexUnavailable
from assistant.ingest.chunking import chunk_documents, dense_text, name_text
from assistant.ingest.loaders import load_file
from assistant.store import chunks, lexical, packs, vector_pack
from assistant.store.accents import AccentModel
from assistant.store.embedding_cache import EmbeddingCache
from assistant.store.embeddings import embedder_name
from assistant.store.manifest import IngestReport, scan
from assistant.store.snapshot import Snapshot
from assistant.store.vectors import CHROMA_BATCH, SYNCED, RowVectors, VectorStore, served_vectors

# Bump when loading or chunking changes: every file is then re-read (vectors still come from the cache).
PIPELINE_VERSION = "6"
EMBED_BATCH = 64


def pipeline_id() -> str:
    """PIPELINE_VERSION and a digest of the thesaurus, which loading writes into the aliases of every
    document whose title has an official phrase: an edited thesaurus re-reads every file on the next
    ingest, as a new pipeline does, instead of leaving the index with the old everyday words."""
    digest = hashlib.sha256(repr(lexicon.thesaurus()).encode("utf-8")).hexdigest()[:12]
    return f"{PIPELINE_VERSION}-{digest}"


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
        self._loaded: Snapshot | None = None
        self._retired: Snapshot | None = None  # the version served before, for requests in flight
        self._switching = threading.Lock()

    # ---- reading -------------------------------------------------------------------------------

    def current_name(self) -> str | None:
        try:
            return (self.dir / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def current_manifest(self) -> dict:
        """The served version's manifest (files, hashes), read without loading the version."""
        name = self.current_name()
        if name is None:
            return {"files": {}}
        try:
            return json.loads((self.dir / "versions" / name / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"không đọc được chỉ mục '{self.dir}': {exc}") from exc

    def exists(self) -> bool:
        return self.current_name() is not None

    def current(self) -> Snapshot:
        """The served version, reloaded when another process has published a newer one."""
        name = self.current_name()
        if name is None:
            raise IndexUnavailable(
                f"chưa có chỉ mục trong '{self.dir}': chạy 'assistant ingest corpus/' trước"
            )
        loaded = self._loaded
        if loaded is not None and loaded.name == name:
            return loaded
        with self._switching:  # threads that see a new version at once load it once
            if self._loaded is None or self._loaded.name != name:
                loaded = self._load_version(self.dir / "versions" / name)
                self._check_space(loaded.manifest["embedder"])
                if self._retired is not None:
                    self.store.release(self._retired.path)
                self._retired, self._loaded = self._loaded, loaded
            return self._loaded

    def _check_space(self, built_with: str) -> None:
        """Questions must be embedded in the space the passages were: refuse to mix two embedders."""
        configured = embedder_name(self.embedder)
        if built_with != configured:
            raise IndexUnavailable(
                f"chỉ mục '{self.dir}' được lập bằng bộ nhúng '{built_with}', còn cấu hình hiện tại là "
                f"'{configured}': đặt lại ASSISTANT_EMBEDDER cho khớp, hoặc chạy 'assistant ingest' để lập "
                "lại chỉ mục bằng bộ nhúng mới"
            )

    def _load_version(self, path: Path) -> Snapshot:
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            ids, metadatas, texts = chunks.read(path)
            bm25_raw, bm25_folded = lexical.fields(path, texts, metadatas)
            return Snapshot(
                path=path,
                manifest=manifest,
                ids=ids,
                texts=texts,
                metadatas=metadatas,
                doc_words=chunks.read_words(path),
                bm25_raw=bm25_raw,
                bm25_folded=bm25_folded,
                accents=AccentModel.load(path / "accents.pkl"),
                vectors=served_vectors(path, ids, lambda: self.store.legacy(path)),
                # Versions built before names were embedded have none; the next ingest rebuilds them.
                name_vectors=np.load(path / "names.npy") if (path / "names.npy").exists() else None,
            )
        except (OSError, ValueError, KeyError, ChromaError) as exc:
            hint = " (Chroma cần quyền ghi vào thư mục chỉ mục)" if "readonly" in str(exc) else ""
            raise IndexUnavailable(f"không đọc được chỉ mục '{path}': {exc}{hint}") from exc

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
                raise IndexUnavailable("một lần nạp dữ liệu khác đang chạy trên chỉ mục này") from exc
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
            raise IndexUnavailable(f"không ghi được chỉ mục vào '{self.dir}': {reason}") from exc
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_locked(
        self,
        paths: list[Path],
        report: IngestReport,
        progress: bool,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        served = self.current_manifest()
        # Another embedding space: nothing is carried over, every passage is embedded again.
        carried = self.exists() and served.get("embedder") == embedder_name(self.embedder)
        old_files: dict[str, dict] = dict(served["files"]) if carried else {}
        reuse = carried and served.get("pipeline") == pipeline_id()
        changes = scan(paths, old_files, reuse, self._chunks, report)
        if carried and not changes.files and not changes.removed and old_files:
            report.version = self.current_name() or ""
            return
        # Loaded only now: an ingest that finds nothing changed does not need it (1 s at 112,000 chunks).
        previous = self.current() if carried else None
        files = {k: v for k, v in old_files.items() if k not in changes.removed} | changes.files
        stale = changes.stale_ids(old_files)
        self._publish(
            previous if old_files else None, files, stale, changes.chunks, report, progress, on_progress
        )

    def _chunks(self, file: Path, root: Path) -> list[Document]:
        return chunk_documents(load_file(file, root), self.chunk_chars, self.overlap)

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
        previous: Snapshot | None,
        files: dict[str, dict],
        stale_ids: set[str],
        new_chunks: list[Document],
        report: IngestReport,
        progress: bool,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        """Build the next version in a staging folder, then point CURRENT at it atomically."""
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
            old_ids = [] if previous is None else previous.ids
            kept = [r for r, chunk_id in enumerate(old_ids) if chunk_id not in stale_ids]
            dropped = [r for r, chunk_id in enumerate(old_ids) if chunk_id in stale_ids]
            new_rows = [
                {"id": c.metadata["chunk_id"], "text": c.page_content, "meta": c.metadata} for c in new_chunks
            ]
            kept_docs = [] if previous is None else chunks.documents_of(previous.metadatas, kept)
            matrix = vector_pack.write(staging, name, previous and previous.vectors, kept, vectors)
            chunks.write(staging, name, previous, kept, kept_docs, new_rows)
            same_pipeline = previous is not None and previous.manifest.get("pipeline") == pipeline_id()
            lexical.write(staging, name, new_rows, previous, kept, dropped, same_pipeline)
            self._write_names(staging, previous, kept_docs, new_rows)
            manifest = {
                "pipeline": pipeline_id(),
                "embedder": embedder_name(self.embedder),
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": files,
            }
            (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
            next_ids = [old_ids[r] for r in kept] + [r["id"] for r in new_rows]
            self._sync_vectors(previous, [old_ids[r] for r in dropped], next_ids, len(kept), matrix)
            staging.rename(versions / name)
            pointer = self.dir / f".CURRENT.{os.getpid()}"
            pointer.write_text(name)
            with open(pointer) as handle:
                os.fsync(handle.fileno())
            os.replace(pointer, self.dir / "CURRENT")
            (self.dir / SYNCED).write_text(name)
            report.version = name
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            self.store.release(self.dir)
        self._prune(keep={name, previous.name if previous else name})

    def _sync_vectors(
        self,
        previous: Snapshot | None,
        dropped: list[str],
        ids: list[str],
        first_new: int,
        matrix: RowVectors,
    ) -> None:
        """Bring the index's Chroma collection from the previous version's vectors to the next one's
        (``ids``, rows from ``first_new`` on are new): delete the dropped chunks, upsert the new ones (a
        changed document keeps its chunk ids).

        When the collection is not known to hold the previous version (first publish, an index written
        by an earlier release, a publish that died between changing it and switching CURRENT), it is
        refilled with every vector the next version serves."""
        collection = self.store.shared(self.dir)
        marker = self.dir / SYNCED
        # Only the ingest holding the lock writes a local collection, so the marker is enough there; a
        # server's collection is also counted (0.25 s at 112,000 chunks) in case another client wrote.
        in_step = (
            previous is not None
            and marker.exists()
            and marker.read_text().strip() == previous.name
            and (not self.store.url or collection.count() == len(previous.ids))
        )
        marker.unlink(missing_ok=True)
        if in_step:
            readded = set(ids[first_new:])
            gone = [i for i in dropped if i not in readded]
            for start in range(0, len(gone), CHROMA_BATCH):
                collection.delete(ids=gone[start : start + CHROMA_BATCH])
        else:
            collection, first_new = self.store.fresh(self.dir), 0
        for start in range(first_new, len(ids), CHROMA_BATCH):
            collection.upsert(
                ids=ids[start : start + CHROMA_BATCH], embeddings=matrix[start : start + CHROMA_BATCH]
            )

    def _write_names(
        self, staging: Path, previous: Snapshot | None, kept_docs: list[str], new_rows: list[dict]
    ) -> None:
        """One unit vector per document for its name (title and aliases), in document order: the kept
        documents' copied from the previous version when it stored them, the others embedded."""
        new_metas: dict[str, dict] = {}
        for row in new_rows:
            new_metas.setdefault(row["meta"]["doc_id"], row["meta"])
        vectors: list[np.ndarray] = []
        if previous is not None and previous.names_stored:
            position = {doc: i for i, doc in enumerate(previous.doc_ids)}
            vectors = list(previous.name_vectors[[position[doc] for doc in kept_docs]])
        elif previous is not None:
            new_metas = {doc: previous.doc_meta(doc) for doc in kept_docs} | new_metas
        embedded, _ = self.embed_texts([name_text(m) for m in new_metas.values()])
        matrix = np.vstack(vectors + embedded) if vectors or embedded else np.zeros((0, 0), dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True) if len(matrix) else 1.0
        np.save(staging / "names.npy", (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32))

    def _prune(self, keep: set[str]) -> None:
        """Delete old versions; the one before the newest stays for processes still reading it."""
        for path in (self.dir / "versions").iterdir():
            if path.name not in keep and not path.name.startswith("."):
                self.store.release(path)
                shutil.rmtree(path, ignore_errors=True)
                self.store.drop_legacy(path.name)
        packs.prune(self.dir, list((self.dir / "versions").iterdir()))
