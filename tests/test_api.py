"""The HTTP API: contract, errors as JSON, bad input, admin auth, privacy. One test runs a real server."""

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from app import create_server
from tests.conftest import EMBEDDING_CACHE, ROOT, free_port, make_assistant

TOKEN = "api-token-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def served(corpus_assistant, tmp_path_factory):
    index = tmp_path_factory.mktemp("api-index")
    shutil.copytree(corpus_assistant.settings.index_dir, index, dirs_exist_ok=True)
    data = tmp_path_factory.mktemp("api-data")
    assistant = make_assistant(index, data_dir=data, admin_token=TOKEN, max_upload_mb=1)
    return assistant, TestClient(create_server(assistant), raise_server_exceptions=False)


@pytest.fixture
def client(served) -> TestClient:
    return served[1]


def auth(token: str = TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_ask_returns_the_answer_contract(client):
    r = client.post("/api/v1/ask", json={"question": "thuê trọ thì đăng ký tạm trú lệ phí bao nhiêu"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "answered" and "7.000 đồng" in body["text"]
    assert {"doc_id", "source", "title", "section", "url", "quote"} <= set(body["citations"][0])


def test_sessions_and_filters_over_the_api(client):
    first = client.post(
        "/api/v1/ask", json={"question": "lam ho chieu can giay to gi", "session_id": "api-1"}
    )
    assert first.json()["doc_id"] == "cap-ho-chieu-pho-thong"
    follow = client.post("/api/v1/ask", json={"question": "le phi bao nhieu", "session_id": "api-1"})
    assert "200.000" in follow.json()["text"]
    filtered = client.post(
        "/api/v1/ask", json={"question": "lệ phí đăng ký", "filters": {"field": "Hộ tịch", "level": "Cấp xã"}}
    )
    assert filtered.status_code == 200


def test_ask_streams_server_sent_events(client):
    with client.stream(
        "POST",
        "/api/v1/ask",
        json={"question": "đăng ký kết hôn ở đâu"},
        headers={"Accept": "text/event-stream"},
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line.startswith("event:")]
    assert events[0] == "event: delta" and events[-1] == "event: answer" and len(events) > 2


def test_search_and_procedures(client):
    hits = client.get("/api/v1/search", params={"q": "tach ho", "k": 3}).json()
    assert hits[0]["doc_id"] == "tach-ho" and len(hits) <= 3
    listed = client.get("/api/v1/procedures", params={"field": "Hộ tịch"}).json()
    assert listed and all(p["field"] == "Hộ tịch" for p in listed)
    record = client.get("/api/v1/procedures/khai-sinh").json()
    assert record["code"] == "1.001193" and record["sections"][0]["name"] == "Ai thực hiện"
    missing = client.get("/api/v1/procedures/khong-co")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"json": {"question": "   "}}, 400),
        ({"json": {"question": "khai sinh " * 110_000}}, 413),
        ({"content": b'{"question": "\xff\xfe"}', "headers": {"content-type": "application/json"}}, 400),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ({"json": {"session_id": "x"}}, 422),
        ({"json": {"question": "lệ phí", "filters": {"level": "cấp huyện"}}}, 400),
        ({"json": {"question": "lệ phí", "filters": {"kind": "bao-cao"}}}, 400),
    ],
)
def test_bad_input_gets_a_clear_4xx_as_json(client, request_args, status):
    r = client.post("/api/v1/ask", **request_args)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail"} and "Traceback" not in r.text


def test_unexpected_errors_never_leak_a_trace(served, monkeypatch):
    assistant, client = served

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/app.py line 3")

    monkeypatch.setattr(assistant, "search", boom)
    r = client.get("/api/v1/search", params={"q": "khai sinh"})
    assert r.status_code == 500 and "secret" not in r.text and r.json()["error"] == "internal_error"


def test_feedback_is_stored_redacted(served):
    assistant, client = served
    r = client.post(
        "/api/v1/feedback",
        json={
            "session_id": "s",
            "question": "<script>alert(1)</script> CCCD 079123456789 của tôi",
            "rating": "down",
            "comment": "email tôi là an.nguyen@example.com, sđt +84 912 345 678",
        },
    )
    assert r.status_code == 201
    db = sqlite3.connect(assistant.settings.data_dir / "feedback.sqlite")
    question, comment = db.execute("SELECT question, comment FROM feedback ORDER BY id DESC").fetchone()
    assert "079123456789" not in question and "example.com" not in comment and "912 345 678" not in comment
    assert client.post("/api/v1/feedback", json={"question": "x", "rating": "meh"}).status_code == 422


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": TOKEN},
    ],
)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/v1/stats"), ("POST", "/api/v1/reindex"), ("POST", "/api/v1/documents")]
)
def test_admin_endpoints_refuse_missing_or_wrong_tokens(client, headers, method, path):
    r = client.request(method, path, headers=headers)
    assert r.status_code in (401, 403) and r.json()["error"] in ("unauthorized", "forbidden")


def test_empty_configured_token_disables_admin(corpus_assistant, tmp_path):
    assistant = make_assistant(corpus_assistant.settings.index_dir, data_dir=tmp_path, admin_token="")
    client = TestClient(create_server(assistant))
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
        r = client.get("/api/v1/stats", headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "admin_disabled"


def test_uploads_are_checked_and_sanitised(served, tmp_path):
    assistant, client = served
    uploads = assistant.settings.data_dir / "uploads"

    def post(name: str, data: bytes):
        return client.post("/api/v1/documents", headers=auth(), files={"files": (name, data)})

    fake_pdf = post("bao-cao.pdf", b"\x00\x01binary, not a pdf" * 10)
    assert fake_pdf.status_code == 415 and not (uploads / "bao-cao.pdf").exists()
    assert post("virus.exe", b"MZ").status_code == 415
    assert post("lon.md", b"a" * (2 * 2**20)).status_code == 413
    assert post("bom.docx", b"PK\x03\x04" + b"\x00" * 5000).status_code == 415
    traversal = post(
        "../../../etc/lich-tiep-dan.md",
        "# Lịch tiếp dân phường Tân Định\n\n## Giờ\n\nPhường Tân Định tiếp dân chiều thứ Ba.\n".encode(),
    )
    assert traversal.status_code == 200, traversal.text
    assert (uploads / "lich-tiep-dan.md").exists() and not (tmp_path.parent / "etc").exists()
    assert sorted(p.name for p in uploads.iterdir()) == ["lich-tiep-dan.md"]
    answer = client.post("/api/v1/ask", json={"question": "phường Tân Định tiếp dân khi nào"}).json()
    assert "chiều thứ Ba" in answer["text"]
    stats = client.get("/api/v1/stats", headers=auth()).json()
    assert stats["documents"] >= 90


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["chunks"] > 0
    assert client.get("/docs").status_code == 200


def test_readiness_reports_503_without_an_index(tmp_path):
    client = TestClient(create_server(make_assistant(tmp_path / "none", data_dir=tmp_path)))
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["error"] == "index_unavailable"


def test_real_server_process_serves_api_and_ui(corpus_assistant, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(corpus_assistant.settings.index_dir),
        "ASSISTANT_EMBEDDING_CACHE": str(EMBEDDING_CACHE),
        "ASSISTANT_DATA_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        started = time.monotonic()
        while time.monotonic() - started < 60:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/ask", json={"question": "nam 2023 co bao nhieu ho so tre han"}
        )
        assert "37.000" in r.json()["text"]
        assert "Trợ lý ảo hành chính" in httpx.get(f"http://127.0.0.1:{port}/").text
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_logs_never_carry_personal_numbers(served, monkeypatch, caplog):
    assistant, client = served

    def boom(*args, **kwargs):
        raise RuntimeError("lookup failed for CCCD 079123456789, phone 0912345678, mail a.b@example.vn")

    monkeypatch.setattr(assistant, "search", boom)
    with caplog.at_level("ERROR", logger="assistant.api"):
        assert client.get("/api/v1/search", params={"q": "khai sinh"}).status_code == 500
    logged = caplog.text
    assert "lookup failed" in logged
    assert "079123456789" not in logged and "0912345678" not in logged and "example.vn" not in logged


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CCCD 079123456789", "CCCD [số định danh]"),
        ("gọi 0912 345 678 nhé", "gọi [số điện thoại] nhé"),
        ("+84912345678", "[số điện thoại]"),
        ("mail an@so.hcm.gov.vn", "mail [email]"),
        (
            "mã thủ tục 1.001193, năm 2023, 22,6 triệu hồ sơ",
            "mã thủ tục 1.001193, năm 2023, 22,6 triệu hồ sơ",
        ),
    ],
)
def test_redaction(text, expected):
    from assistant.privacy import redact

    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "tôi tên là Trần Thị Bình, CCCD 079 123 456 789, sđt 0912 345 678, hỏi lệ phí khai sinh",
            "hỏi lệ phí khai sinh",
        ),
        ("em ten la Nguyen Van An, mail an@so.hcm.gov.vn, muon lam ho chieu", "muon lam ho chieu"),
        ("số CCCD bị ghi sai thì sửa ở đâu", "số CCCD bị ghi sai thì sửa ở đâu"),  # no number given: kept
    ],
)
def test_a_self_introduction_is_not_read_as_the_question(text, expected):
    from assistant.privacy import without_personal_details

    assert without_personal_details(text) == expected
