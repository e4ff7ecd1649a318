"""Case 6 (low): a lone surrogate gave a 500 with a traceback in the log."""

from __future__ import annotations

import json

import httpx
import pytest


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/ask", '{"question": "\\ud800 khai sinh"}'),
        ("/api/v1/feedback", '{"question": "\\ud800 khai sinh", "rating": "up", "session_id": "\\udfff"}'),
    ],
)
def test_a_lone_surrogate_is_a_clear_4xx_or_is_stored_safely(live_server, path, body):
    r = httpx.post(
        f"{live_server.url}{path}", content=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert r.status_code in (201, 400, 422), r.text
    assert "Traceback" not in r.text and set(r.json()) >= ({"id"} if r.status_code == 201 else {"error"})


def test_a_lone_surrogate_in_the_lookup_tab_is_refused(live_server):
    event = httpx.post(
        f"{live_server.url}/gradio_api/call/do_search",
        content='{"data": ["\\ud800 khai sinh", "", "", "", ""]}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    ).json()["event_id"]
    stream = httpx.get(f"{live_server.url}/gradio_api/call/do_search/{event}", timeout=30).text
    assert "event: complete" in stream and "không hợp lệ" in json.loads(stream.split("data: ", 1)[1])[-1]
