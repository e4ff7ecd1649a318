"""Case 6 (low): every lookup search left a temporary CSV folder that was never removed, and
evaluation runs left /tmp/eval-*. Downloads are now made under DATA_DIR/exports and removed after an
hour."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import httpx

from assistant.channels.exports import EXPORT_TTL_SECONDS, new_export_dir
from tests.security.gradio_calls import call


def test_lookup_exports_go_under_the_data_folder(live_server):
    before = set(Path(tempfile.gettempdir()).iterdir())
    for query in ("khai sinh", "tạm trú", "căn cước"):
        kind, outputs = call(live_server.url, "do_search", [query, "", "", "", ""])
        assert kind == "complete"
        csv_path = outputs[2]["value"]["path"]
        assert csv_path  # Gradio serves its own cached copy of the file we made
    made = set(Path(tempfile.gettempdir()).iterdir()) - before
    ours = [p for p in made if p.is_dir() and (any(p.glob("*.csv")) or p.name.startswith("eval-"))]
    assert not ours, ours
    assert len(list((live_server.data_dir / "exports").iterdir())) == 3
    assert httpx.get(f"{live_server.url}/healthz", timeout=5).status_code == 200


def test_old_exports_are_removed(tmp_path):
    old = new_export_dir(tmp_path, "tra-cuu")
    (old / "a.csv").write_text("x")
    stale = time.time() - EXPORT_TTL_SECONDS - 10
    os.utime(old, (stale, stale))
    fresh = new_export_dir(tmp_path, "danh-gia")
    assert not old.exists() and fresh.exists()
