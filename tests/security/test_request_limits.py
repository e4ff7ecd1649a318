"""Case 5 (medium): bodies sent in chunks (no Content-Length) bypassed the 20 MB cap: the API took
300 MB (+900 MB of memory) and Gradio's upload took 300 MB without login. The cap now counts the bytes
actually read, for every route."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

MB = 2**20


BOUNDARY = "gioi-han-thu-nghiem"


def chunks(total: int, multipart: bool, size: int = MB) -> Iterator[bytes]:
    """A body with no declared length, as `Transfer-Encoding: chunked` sends it."""
    if multipart:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="lon.md"\r\n'
            "Content-Type: text/markdown\r\n\r\n"
        ).encode()
    else:
        yield b'{"question": "'
    for _ in range(total // size):
        yield b"a" * size
    yield f"\r\n--{BOUNDARY}--\r\n".encode() if multipart else b'"}'


@pytest.mark.parametrize(
    ("path", "total"),
    [("/api/v1/ask", 40 * MB), ("/api/v1/feedback", 40 * MB), ("/gradio_api/upload", 60 * MB)],
)
def test_a_chunked_body_over_the_cap_is_refused(live_server, path, total):
    before = live_server.rss_mb()
    multipart = path.endswith("upload")
    kind = f"multipart/form-data; boundary={BOUNDARY}" if multipart else "application/json"
    with httpx.Client(timeout=60) as client:
        try:
            r = client.post(
                f"{live_server.url}{path}", content=chunks(total, multipart), headers={"Content-Type": kind}
            )
        except httpx.HTTPError:  # the server may close the connection once it has refused
            r = None
    if r is not None:
        assert r.status_code == 413, r.text[:300]
    assert live_server.rss_mb() - before < 100
    assert httpx.get(f"{live_server.url}/healthz", timeout=5).status_code == 200


def test_a_declared_oversize_body_is_refused_before_it_is_read(live_server):
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            f"POST /api/v1/ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {30 * MB}\r\n\r\n{{".encode()
        )
        reply = b""
        while chunk := raw.recv(65536):  # the server answers, then closes the connection
            reply += chunk
        reply = reply.decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413") and '"too_large"' in reply
