"""Several app processes share one index through a Chroma server (`chroma run`): an upload through one
replica is answered by the other. Losing the vector store leaves questions answered from the vectors a
replica holds in memory; readiness and uploads get 503s, not hangs, until it returns."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import EMBEDDING_CACHE, ROOT, free_port

CHROMA = Path(sys.executable).parent / "chroma"
TOKEN = "replica-" + uuid.uuid4().hex[:8]


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", 60)
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not CHROMA.exists():
        pytest.skip("the chroma command is not installed")
    base = tmp_path_factory.mktemp("cluster")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus" / "reports", corpus)
    chroma_port = free_port()
    chroma = start_chroma(base / "chroma", chroma_port)
    env = {
        **os.environ,
        "ASSISTANT_CHROMA_URL": f"http://127.0.0.1:{chroma_port}",
        "ASSISTANT_INDEX_DIR": str(base / "index"),
        "ASSISTANT_CORPUS_DIRS": f'["{corpus}"]',
        "ASSISTANT_EMBEDDING_CACHE": str(EMBEDDING_CACHE),
        "ASSISTANT_DATA_DIR": str(base / "data"),
        "ASSISTANT_ADMIN_TOKEN": TOKEN,
    }
    apps, urls = [], []
    for extra in ([], ["--no-ingest"]):
        port = free_port()
        apps.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "app.py"), "--port", str(port), *extra],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
        wait_for(f"{urls[-1]}/readyz")
    state = {"chroma": chroma, "chroma_port": chroma_port, "chroma_path": base / "chroma"}
    yield urls, state
    for app in apps:
        stop(app)
    stop(state["chroma"])


def test_upload_through_one_replica_is_answered_by_the_other(cluster):
    (first, second), _ = cluster
    question = {"question": "phường Đa Kao tiếp công dân vào ngày nào"}
    before = httpx.post(f"{second}/api/v1/ask", json=question, timeout=30).json()
    assert "thứ Sáu" not in before["text"]
    document = (
        "# Lịch tiếp dân phường Đa Kao\n\n## Lịch\n\nPhường Đa Kao tiếp công dân sáng thứ Sáu hằng tuần.\n"
    )
    r = httpx.post(
        f"{first}/api/v1/documents",
        headers={"Authorization": f"Bearer {TOKEN}"},
        files={"files": ("lich-da-kao.md", document.encode())},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    published = time.monotonic()
    after = httpx.post(f"{second}/api/v1/ask", json=question, timeout=30).json()
    # The other replica sees the new version on its next request (it checks CURRENT each time).
    assert "sáng thứ Sáu" in after["text"] and time.monotonic() - published < 5


def test_vector_store_outage_keeps_answering_and_refuses_uploads_until_it_returns(cluster):
    (first, second), state = cluster
    assert httpx.get(f"{first}/readyz", timeout=60).status_code == 200  # serving the newest version
    stop(state["chroma"])
    question = {"question": "năm 2023 có bao nhiêu hồ sơ trễ hạn"}
    # The served version's vectors are in memory: citizens are still answered.
    r = httpx.post(f"{first}/api/v1/ask", json=question, timeout=60)
    assert r.status_code == 200 and "37.000" in r.json()["text"]
    started = time.monotonic()
    ready = httpx.get(f"{first}/readyz", timeout=60)
    assert ready.status_code == 503 and ready.json()["error"] == "vector_store_unavailable"
    document = "# Lịch tiếp dân phường Bến Nghé\n\n## Lịch\n\nPhường Bến Nghé tiếp công dân chiều thứ Hai.\n"
    upload = httpx.post(
        f"{first}/api/v1/documents",
        headers={"Authorization": f"Bearer {TOKEN}"},
        files={"files": ("lich-ben-nghe.md", document.encode())},
        timeout=60,
    )
    assert upload.status_code == 503 and upload.json()["error"] == "vector_store_unavailable"
    assert time.monotonic() - started < 60
    state["chroma"] = start_chroma(state["chroma_path"], state["chroma_port"])
    assert httpx.get(f"{first}/readyz", timeout=60).status_code == 200
    # The refused upload was kept: a reindex once the store is back makes it answerable everywhere.
    r = httpx.post(f"{first}/api/v1/reindex", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
    assert r.status_code == 200, r.text
    answer = httpx.post(
        f"{second}/api/v1/ask", json={"question": "phường Bến Nghé tiếp công dân khi nào"}, timeout=30
    ).json()
    assert "chiều thứ Hai" in answer["text"]
