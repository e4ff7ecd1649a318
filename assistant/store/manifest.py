"""What an ingest changes: the files found, which are new, changed, unchanged or removed against the
served version's manifest (content hashes), and the report a person reads afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from assistant.errors import IndexUnavailable
from assistant.ingest.loaders import SUPPORTED_SUFFIXES, LoadError
from assistant.store.embedding_cache import sha256

FLAGGED_WARNING = (
    "đã bỏ ra khỏi chỉ mục các dòng giống chỉ dẫn cho trợ lý hoặc đòi thông tin cá nhân; tài liệu này "
    "xếp sau mọi tài liệu không bị gắn cờ"
)


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


@dataclass
class Changes:
    """The files to (re)index with their chunks, and the manifest entries of the files now gone."""

    chunks: list[Document] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)  # manifest entries of the new and changed files
    removed: list[str] = field(default_factory=list)  # manifest keys of files no longer there

    def stale_ids(self, old_files: dict[str, dict]) -> set[str]:
        """Chunk ids of the previous version that this change replaces or removes."""
        keys = [*self.removed, *self.files]
        return {cid for key in keys if key in old_files for cid in old_files[key]["chunk_ids"]}


def discover(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """Yield (file, root for its relative source name)."""
    for raw in paths:
        path = raw.resolve()
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(path)
                if file.is_file() and not any(part.startswith(".") for part in rel.parts):
                    yield file, path
        elif path.is_file():
            yield path, path.parent
        else:
            raise IndexUnavailable(f"không tìm thấy '{raw}'")


def scan(
    paths: Iterable[Path],
    old_files: dict[str, dict],
    reuse: bool,
    chunker: Callable[[Path, Path], list[Document]],
    report: IngestReport,
) -> Changes:
    """Compare the files under ``paths`` with the previous manifest; load and chunk only what changed
    (everything when ``reuse`` is false). Files of a folder given again but no longer there are
    removed; a file given alone never removes others."""
    paths = list(paths)
    changes = Changes()
    seen: set[str] = set()
    # Every folder given, even one left empty: deleting a folder's last file removes it too.
    dir_roots = {str(p.resolve()) for p in paths if p.resolve().is_dir()}
    owners = {entry["doc_id"]: key for key, entry in old_files.items()}
    for file, root in discover(paths):
        key = str(file)
        seen.add(key)
        label = file.relative_to(root).as_posix()
        if file.suffix.lower() not in SUPPORTED_SUFFIXES:
            report.skipped.append((label, f"định dạng '{file.suffix or 'không có đuôi'}' không hỗ trợ"))
            continue
        digest = sha256(file.read_bytes())
        if reuse and key in old_files and old_files[key]["sha256"] == digest:
            report.unchanged.append(label)
            continue
        try:
            chunks = chunker(file, root)
        except LoadError as exc:
            report.failed.append((label, str(exc)))
            continue
        doc_id = chunks[0].metadata["doc_id"]
        owner = owners.get(doc_id)
        if owner is not None and owner != key and (owner in seen or Path(owner).exists()):
            report.failed.append((label, f"mã tài liệu '{doc_id}' đã được tệp khác dùng: {owner}"))
            continue
        owners[doc_id] = key
        _note_flagged(label, chunks, report)
        changes.chunks.extend(chunks)
        changes.files[key] = {
            "sha256": digest,
            "doc_id": doc_id,
            "source": label,
            "root": str(root),
            "chunk_ids": [c.metadata["chunk_id"] for c in chunks],
        }
        report.indexed.append(label)
    changes.removed = [
        key
        for key, entry in old_files.items()
        if key not in seen and entry["root"] in dir_roots and not Path(key).exists()
    ]
    report.removed = [old_files[key]["source"] for key in changes.removed]
    return changes


def _note_flagged(label: str, chunks: list[Document], report: IngestReport) -> None:
    flagged = list(dict.fromkeys(c.metadata["flagged"] for c in chunks if c.metadata.get("flagged")))
    if flagged:
        report.warnings.append((label, f"{FLAGGED_WARNING}: {' | '.join(flagged)[:500]}"))
