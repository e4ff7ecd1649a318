"""Gradio API calls as a crafted client makes them, by HTTP, without Gradio's client library."""

from __future__ import annotations

import json

import httpx


def call(url: str, endpoint: str, data: list | None = None, body: str | None = None) -> tuple[str, object]:
    """(event kind, outputs or error) of one call; ``body`` sends raw JSON text (a lone surrogate, say).

    Gradio sends a heartbeat every 15 s while a call runs (a slow first search on a busy machine): the
    outcome is the stream's last event."""
    event = httpx.post(
        f"{url}/gradio_api/call/{endpoint}",
        content=body if body is not None else json.dumps({"data": data}),
        headers={"Content-Type": "application/json"},
        timeout=30,
    ).json()
    stream = httpx.get(f"{url}/gradio_api/call/{endpoint}/{event['event_id']}", timeout=120).text
    final = stream.strip().split("\n\n")[-1]
    kind = final.split("event: ", 1)[1].split("\n", 1)[0]
    return kind, json.loads(final.split("data: ", 1)[1].split("\n", 1)[0])
