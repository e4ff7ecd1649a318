"""Saving uploaded documents safely: no path traversal, no overwriting outside the upload folder."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from assistant.documents import SUPPORTED_SUFFIXES


class UploadError(ValueError):
    """An upload refused for a reason the uploader can fix (name, type or size)."""


def safe_name(name: str) -> str:
    """A plain file name: directories, control characters and odd symbols removed, suffix kept."""
    base = Path(unicodedata.normalize("NFC", name.replace("\\", "/"))).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or "tai-lieu"
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(
            f"định dạng '{suffix or 'không có đuôi'}' không được hỗ trợ: {sorted(SUPPORTED_SUFFIXES)}"
        )
    return f"{stem[:100]}{suffix}"


def save_upload(folder: Path, name: str, data: bytes, max_bytes: int) -> Path:
    """Write one upload into ``folder`` and return its path; refuses oversize and unknown types."""
    if len(data) > max_bytes:
        raise UploadError(f"tệp '{name}' lớn hơn giới hạn {max_bytes // 2**20} MB")
    target = folder.resolve() / safe_name(name)
    if target.parent != folder.resolve():
        raise UploadError("tên tệp không hợp lệ")
    folder.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target
