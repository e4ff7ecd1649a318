"""A real server process (app.py, as `make run` starts it) on a copy of the corpus index, shared by the
security tests: what an outside tester reaches is what they exercise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import EMBEDDING_CACHE, ROOT, free_port, server_process

TOKEN = "sec-token-" + uuid.uuid4().hex[:8]


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    process: subprocess.Popen

    def rss_mb(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/status").read_text().split("VmRSS:")[1].split()
        return int(fields[0]) / 1024


@pytest.fixture(scope="package")
def live_server(corpus_assistant, tmp_path_factory) -> Iterator[LiveServer]:
    index = tmp_path_factory.mktemp("sec-index")
    shutil.copytree(corpus_assistant.settings.index_dir, index, dirs_exist_ok=True)
    data = tmp_path_factory.mktemp("sec-data")
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(index),
        "ASSISTANT_EMBEDDING_CACHE": str(EMBEDDING_CACHE),
        "ASSISTANT_DATA_DIR": str(data),
        "ASSISTANT_ADMIN_TOKEN": TOKEN,
        "ASSISTANT_EVAL_MAX_QUESTIONS": "5",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(ROOT / "app.py"), "--no-ingest", "--port", str(port)]
    with server_process(
        command, lambda: httpx.get(f"{url}/readyz", timeout=2).status_code == 200, env=env
    ) as process:
        yield LiveServer(url, data, process)


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
