"""Shared fixtures. Indexes are built once per test session; passage vectors are cached in the user's
cache folder (outside the clone, so CI on the same machine reuses them too) so that a second
`make test` embeds nothing it has embedded before."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

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
