"""Case 6 (low): a lone surrogate gave a 500 with a traceback in the log."""

from __future__ import annotations

import httpx
import pytest

from tests.security.gradio_calls import call


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
    kind, outputs = call(live_server.url, "do_search", body='{"data": ["\\ud800 khai sinh", "", "", "", ""]}')
    assert kind == "complete" and "không hợp lệ" in outputs[-1]
