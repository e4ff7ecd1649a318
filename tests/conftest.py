"""Shared fixtures. Indexes are built once per test session; passage vectors are cached in the user's
cache folder (outside the clone, so CI on the same machine reuses them too) so that a second
`make test` embeds nothing it has embedded before."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from assistant.config import Settings
from assistant.service import Assistant
from eval.train_routing import record_subset

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DVC_DIR = SHARED / "data" / "dvc-procedures"
EMBEDDING_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "tro-ly-ao-hanh-chinh"
    / "test-embeddings.sqlite"
)


def assistant_command(*args: str) -> list[str]:
    """The command line as a user types it, in a process of its own."""
    return [sys.executable, "-m", "assistant", *args]


@contextmanager
def server_process(
    command: list[str], ready: Callable[[], bool], timeout: float = 90, **popen: object
) -> Iterator[subprocess.Popen]:
    """A real server process, waited for until ``ready()`` says it answers, stopped afterwards."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)
    try:
        deadline = time.monotonic() + timeout
        while not _answers(ready):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"the server did not start: {command}")
            time.sleep(0.3)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(ready: Callable[[], bool]) -> bool:
    try:
        return ready()
    except httpx.HTTPError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class ThreadedServer:
    """A uvicorn server running an app in a thread of the test process."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def serve_in_thread(app: FastAPI) -> tuple[ThreadedServer, str]:
    """Serve ``app`` on a free local port; returns the server and its base URL (ending in '/')."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/"
    return ThreadedServer(url, server, thread), url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright (never `playwright install`)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make test installs it)")
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def make_assistant(index_dir: Path, **overrides: object) -> Assistant:
    settings = Settings(index_dir=index_dir, **{"embedding_cache": EMBEDDING_CACHE, **overrides})
    return Assistant(settings)


@pytest.fixture(scope="session")
def corpus_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The shipped corpus, indexed once for the session."""
    assistant = make_assistant(tmp_path_factory.mktemp("corpus-index"))
    report = assistant.ingest([ROOT / "corpus"], progress=False)
    assert not report.failed, report.failed
    return assistant


@pytest.fixture(scope="session")
def records_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DVC_DIR.is_dir():
        pytest.skip("../shared/data/dvc-procedures is not present")
    return record_subset(tmp_path_factory.mktemp("dvc-records"))


@pytest.fixture(scope="session")
def dvc_assistant(tmp_path_factory: pytest.TempPathFactory, records_dir: Path, corpus_assistant) -> Assistant:
    """How a city deploys: the shipped corpus plus at least 200 real portal records (every code a guide
    carries among them), indexed once for the session."""
    index = tmp_path_factory.mktemp("dvc-index")
    shutil.copytree(corpus_assistant.settings.index_dir, index, dirs_exist_ok=True)
    assistant = make_assistant(index, records_dir=records_dir)
    report = assistant.ingest([ROOT / "corpus", records_dir], progress=False)
    assert len(report.indexed) >= 200 and not report.failed, report.failed
    return assistant
