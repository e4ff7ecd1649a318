"""Files made for a user to download (lookup CSV, evaluation reports), kept under the data folder and
removed after a while instead of piling up in /tmp."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

EXPORT_TTL_SECONDS = 3600


def new_export_dir(data_dir: Path, prefix: str) -> Path:
    """A fresh folder under DATA_DIR/exports; folders older than an hour are removed first."""
    root = data_dir / "exports"
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - EXPORT_TTL_SECONDS
    for old in root.iterdir():
        if old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    folder = root / f"{prefix}-{uuid.uuid4().hex[:12]}"
    folder.mkdir()
    return folder
