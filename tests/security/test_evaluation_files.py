"""Case 2 (high): the Đánh giá tab read files from the server's disk for anyone. A crafted request
named any server path as the uploaded file; Gradio's own path check was off because a mounted app
never records that it "has launched". Now Gradio refuses paths outside its upload folder, the tab
reads only the file this session uploaded, and it needs the admin token and caps questions per run."""

from __future__ import annotations

from pathlib import Path

import httpx
from gradio.utils import get_upload_folder

from tests.security.conftest import TOKEN
from tests.security.gradio_calls import call

MARKER = "bi-mat-may-chu-5f1c"


def file_data(path: Path) -> dict:
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def cached_copies() -> list[Path]:
    folder = Path(get_upload_folder())
    return [p for p in folder.rglob("*") if p.is_file() and MARKER in p.read_text(errors="ignore")]


def test_a_server_path_is_never_read_nor_copied(live_server, tmp_path):
    secret = tmp_path / "bi-mat.csv"
    secret.write_text(f"question,relevant\n{MARKER},x\n", encoding="utf-8")
    kind, _ = call(live_server.url, "remember", [file_data(secret)])
    assert kind == "error"
    kind, outputs = call(live_server.url, "evaluate", [TOKEN, "question=question", ["bm25"]])
    assert kind == "complete" and "Chưa chọn tệp" in outputs[0]
    assert not cached_copies()
    refused = tmp_path / "passwd"
    refused.write_text(MARKER, encoding="utf-8")
    assert call(live_server.url, "remember", [file_data(refused)])[0] == "error"
    assert not cached_copies()
    leaked = httpx.get(f"{live_server.url}/gradio_api/file={secret}", timeout=10)
    assert leaked.status_code in (403, 404) and MARKER not in leaked.text
