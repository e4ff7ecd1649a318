"""Saving uploaded documents safely: no path traversal, no overwriting outside the upload folder, and
a file that cannot be indexed moved aside so that no later reindex reads it again."""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import UnsupportedUpload, UploadError, UploadTooLarge
from assistant.ingest.loaders import SUPPORTED_SUFFIXES
from assistant.store.manifest import IngestReport


@dataclass
class UploadOutcome:
    """What one upload did: files indexed, refused before saving, and saved but unreadable."""

    saved: list[str] = field(default_factory=list)
    refused: list[tuple[str, UploadError]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def safe_name(name: str) -> str:
    """A plain file name: directories, control characters and odd symbols removed, suffix kept."""
    base = Path(unicodedata.normalize("NFC", name.replace("\\", "/"))).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or "tai-lieu"
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedUpload(
            f"định dạng '{suffix or 'không có đuôi'}' không được hỗ trợ: {sorted(SUPPORTED_SUFFIXES)}"
        )
    return f"{stem[:100]}{suffix}"


def check_upload(name: str, size: int, max_bytes: int) -> str:
    """The name the upload will be saved under; raises UploadError for a wrong type or size."""
    if size > max_bytes:
        raise UploadTooLarge(f"tệp '{name}' lớn hơn giới hạn {max_bytes // 2**20} MB")
    return safe_name(name)


def save_upload(folder: Path, name: str, data: bytes, max_bytes: int) -> Path:
    """Write one upload into ``folder`` and return its path; refuses oversize and unknown types."""
    target = folder.resolve() / check_upload(name, len(data), max_bytes)
    if target.parent != folder.resolve():
        raise UnsupportedUpload("tên tệp không hợp lệ")
    folder.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def quarantine(folder: Path, names: list[str], rejected: Path) -> None:
    """Move unreadable uploads out of the upload folder (kept for staff to inspect, never re-read)."""
    rejected.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = folder / name
        if source.is_file():
            shutil.move(str(source), str(rejected / name))


@dataclass
class UploadDesk:
    """The one path from uploaded files to the index, shared by the API and the admin tab."""

    folder: Path  # DATA_DIR/uploads: indexed with the corpus
    rejected: Path  # DATA_DIR/rejected: files that could not be read, kept for staff, never re-read
    max_bytes: int
    ingest: Callable[[list[Path], Callable[[int, int], None] | None], IngestReport]

    def add(
        self, files: Iterable[tuple[str, bytes]], on_progress: Callable[[int, int], None] | None = None
    ) -> tuple[UploadOutcome, IngestReport]:
        """Save and index the files. One refused by name, type or size is not saved; one that cannot
        be read is moved aside."""
        outcome = UploadOutcome()
        for name, data in files:
            try:
                outcome.saved.append(save_upload(self.folder, name, data, self.max_bytes).name)
            except UploadError as exc:
                outcome.refused.append((name, exc))
        report = self.reindex([], on_progress) if outcome.saved else IngestReport()
        unreadable = dict(report.failed)
        outcome.unreadable = [(n, unreadable[n]) for n in outcome.saved if n in unreadable]
        outcome.saved = [n for n in outcome.saved if n not in unreadable]
        return outcome, report

    def reindex(
        self, corpus: list[Path], on_progress: Callable[[int, int], None] | None = None
    ) -> IngestReport:
        """Bring the index in line with the uploads and the given corpus folders; uploads that fail to
        load are moved to the rejected folder."""
        roots = [r for r in [*corpus, self.folder] if r.exists()]
        report = self.ingest(roots, on_progress)
        uploaded = {p.name for p in self.folder.iterdir()} if self.folder.exists() else set()
        quarantine(self.folder, [n for n, _ in report.failed if n in uploaded], self.rejected)
        return report
