"""Shared fixtures. Indexes are built once per test session; passage vectors are cached in the user's
cache folder (outside the clone, so CI on the same machine reuses them too) so that a second
`make test` embeds nothing it has embedded before."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from assistant.config import Settings
from assistant.service import Assistant

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DVC_DIR = SHARED / "data" / "dvc-procedures"
EMBEDDING_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "tro-ly-ao-hanh-chinh"
    / "test-embeddings.sqlite"
)

# Records that the retrieval tests ask about; the rest of the 200-record subset is filler taken in
# code order, which includes near neighbours (e.g. the foreign-element variants of khai sinh).
DVC_TARGETS = [
    "1.001193",
    "1.004222",
    "1.004194",
    "1.000894",
    "1.001456",
    "1.013225",
    "1.001612",
    "2.000815",
    "1.000656",
    "1.004873",
    "1.014064",
    "3.000333",
]


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
    settings = Settings(index_dir=index_dir, embedding_cache=EMBEDDING_CACHE, **overrides)
    return Assistant(settings)


@pytest.fixture(scope="session")
def corpus_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The shipped corpus, indexed once for the session."""
    assistant = make_assistant(tmp_path_factory.mktemp("corpus-index"))
    report = assistant.ingest([ROOT / "corpus"], progress=False)
    assert not report.failed, report.failed
    return assistant


def dvc_subset(target: Path, size: int = 200) -> Path:
    files = sorted(DVC_DIR.glob("*.md"))
    chosen = [DVC_DIR / f"{code}.md" for code in DVC_TARGETS]
    chosen += [f for f in files if f not in chosen][: size - len(chosen)]
    target.mkdir(parents=True, exist_ok=True)
    for file in chosen:
        shutil.copy(file, target / file.name)
    return target


@pytest.fixture(scope="session")
def dvc_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """200 real portal records, indexed once for the session."""
    if not DVC_DIR.is_dir():
        pytest.skip("../shared/data/dvc-procedures is not present")
    source = dvc_subset(tmp_path_factory.mktemp("dvc-records"))
    assistant = make_assistant(tmp_path_factory.mktemp("dvc-index"))
    report = assistant.ingest([source], progress=False)
    assert len(report.indexed) == 200 and not report.failed
    return assistant
