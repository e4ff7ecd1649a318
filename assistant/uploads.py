"""Saving uploaded documents safely: no path traversal, no overwriting outside the upload folder, and
a file that cannot be indexed moved aside so that no later reindex reads it again."""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from assistant.documents import SUPPORTED_SUFFIXES


class UploadError(ValueError):
    """An upload refused for a reason the uploader can fix (name, type or size)."""


class UploadTooLarge(UploadError):
    pass


class UnsupportedUpload(UploadError):
    pass


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
