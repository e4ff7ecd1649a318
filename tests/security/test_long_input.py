"""Case 1 (critical): a long run of letters froze the whole server. Text processing was quadratic
(`\\w*[^\\W\\x00-\\x7f]\\w*`) and ran before the length check. Every entry point now checks size first
and only runs linear-time text processing; the server keeps answering /healthz meanwhile."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from assistant.channels import cli
from assistant.errors import QuestionError
from assistant.privacy import redact
from assistant.text import folded_tokens, normalize

LETTERS = "a" * 2_000_000
ACCENTED = "ă" * 2_000_000


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


@pytest.mark.parametrize("text", [LETTERS, ACCENTED], ids=["ascii", "accented"])
def test_text_processing_is_linear_on_a_2mb_letter_run(text):
    assert timed(lambda: normalize(text)) < 1.0
    assert timed(lambda: folded_tokens(text)) < 1.5


def test_redaction_of_a_long_feedback_is_fast():
    assert timed(lambda: redact("x" * 20_000 + "@" + "y" * 20_000)) < 0.1
    assert timed(lambda: redact("a." * 10_000)) < 0.1


def test_service_refuses_before_processing(corpus_assistant):
    for call in (lambda: corpus_assistant.ask(LETTERS), lambda: corpus_assistant.search(LETTERS)):
        started = time.perf_counter()
        with pytest.raises(QuestionError, match="dài quá"):
            call()
        assert time.perf_counter() - started < 1.0


def test_cli_refuses_a_2mb_question_quickly(corpus_assistant, capsys):
    index = str(corpus_assistant.settings.index_dir)
    for command in ("ask", "search"):
        started = time.perf_counter()
        assert cli.main([command, LETTERS, "--index", index, "--json"]) == 2
        assert time.perf_counter() - started < 1.0
        assert "dài quá" in capsys.readouterr().err


def _healthz_while(url: str, request) -> tuple[list[float], httpx.Response]:
    """Latencies of /healthz polled while ``request`` runs in another thread, and its response."""
    answer: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: answer.append(request()))
    worker.start()
    latencies = []
    while worker.is_alive() or not latencies:
        started = time.perf_counter()
        httpx.get(f"{url}/healthz", timeout=10)
        latencies.append(time.perf_counter() - started)
    worker.join()
    return latencies, answer[0]


def test_server_answers_health_checks_during_a_long_question(live_server):
    body = '{"question": "' + "a" * 1_900_000 + '"}'  # under the body cap: reaches the question check

    def ask() -> httpx.Response:
        return httpx.post(
            f"{live_server.url}/api/v1/ask",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )

    latencies, response = _healthz_while(live_server.url, ask)
    assert response.status_code == 413 and response.json()["error"] == "bad_question"
    assert response.elapsed.total_seconds() < 1.0
    assert max(latencies) < 1.0


def test_lookup_search_of_a_long_text_is_refused_quickly(live_server):
    url = live_server.url
    started = time.perf_counter()
    event = httpx.post(
        f"{url}/gradio_api/call/do_search", json={"data": ["a" * 40_000, "", "", "", ""]}, timeout=30
    ).json()["event_id"]
    stream = httpx.get(f"{url}/gradio_api/call/do_search/{event}", timeout=30).text
    outputs = json.loads(stream.split("data: ", 1)[1])
    assert "dài quá" in outputs[-1]
    assert time.perf_counter() - started < 2.0
