"""Staff insight: the question log (every channel, redacted, SQLite or PostgreSQL, retention), the
analytics API behind the admin token, and the content-gap report."""

import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import create_server
from assistant.channels import cli
from assistant.insight.log import Asked, QuestionLog
from tests.conftest import make_assistant

TOKEN = "insight-token"
PERSONAL = "tôi tên là Trần Thị Bình, CCCD 079 123 456 789, sđt (+84) 912 345 678, mail binh.tran@example.vn"
NOT_COVERED = [
    "ông bà tôi trên 80 tuổi xin trợ cấp người cao tuổi ở đâu",
    "tro cap nguoi cao tuoi cho ong ba tren 80 lam o dau",
    "bà nội 85 tuổi muốn nhận trợ cấp tuổi già hàng tháng thì làm hồ sơ gì",
]


@pytest.fixture
def served(corpus_assistant, tmp_path):
    assistant = make_assistant(corpus_assistant.settings.index_dir, data_dir=tmp_path, admin_token=TOKEN)
    return assistant, TestClient(create_server(assistant))


def auth() -> dict:
    return {"Authorization": f"Bearer {TOKEN}"}


def test_every_channel_is_logged_and_nothing_personal_is_stored(served, capsys):
    assistant, client = served
    assert (
        client.post(
            "/api/v1/ask",
            json={
                "question": f"{PERSONAL}, hỏi lệ phí khai sinh cho bé mới sinh",
                "session_id": "0912345678",
            },
        ).status_code
        == 200
    )
    cli_args = ["ask", f"{PERSONAL} hỏi làm hộ chiếu", "--index", str(assistant.settings.index_dir), "--json"]
    os.environ["ASSISTANT_DATA_DIR"] = str(assistant.settings.data_dir)
    try:
        assert cli.main(cli_args) == 0
    finally:
        del os.environ["ASSISTANT_DATA_DIR"]
    capsys.readouterr()
    rows = assistant.insight.rows()
    assert {r["channel"] for r in rows} == {"api", "cli"}
    stored = (assistant.settings.data_dir / "insight.sqlite").read_bytes()
    for secret in ("079 123 456 789", "079123456789", "912 345 678", "912345678", "binh.tran", "Bình"):
        assert secret.encode() not in stored, secret
    api_row = next(r for r in rows if r["channel"] == "api")
    # The log keeps the question without the introduction, and the session id redacted.
    assert (
        api_row["question"] == "hỏi lệ phí khai sinh cho bé mới sinh"
        and api_row["session"] == "[số điện thoại]"
    )
    # The introduction is not read as part of the question: the ordinary birth registration answers it.
    assert api_row["status"] == "answered" and api_row["doc_id"] == "khai-sinh" and api_row["latency_ms"] > 0


def test_feedback_is_attached_to_the_logged_question(served):
    assistant, client = served
    client.post("/api/v1/ask", json={"question": NOT_COVERED[0], "session_id": "fb"})
    client.post(
        "/api/v1/feedback",
        json={"session_id": "fb", "question": NOT_COVERED[0], "rating": "down", "comment": "thiếu"},
    )
    (row,) = assistant.insight.rows()
    assert row["feedback"] == "down" and row["comment"] == "thiếu" and row["status"] == "refused"


def test_analytics_api_needs_the_token_and_reports(served):
    assistant, client = served
    for question in [*NOT_COVERED, "lệ phí khai sinh", "cách đổi mật khẩu app Vietcombank"]:
        client.post("/api/v1/ask", json={"question": question})
    for path in ("/api/v1/analytics/summary", "/api/v1/analytics/gaps", "/api/v1/analytics/questions.csv"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 403
    summary = client.get("/api/v1/analytics/summary", headers=auth()).json()
    assert summary["total"] == 5 and set(summary["by_status"]) == {"answered", "clarify", "refused"}
    assert summary["by_status"]["refused"] >= 3 and summary["by_channel"] == {"api": 5}
    assert {"top_procedures", "median_latency_ms", "feedback"} <= set(summary)
    today = dt.date.today().isoformat()
    assert (
        client.get("/api/v1/analytics/summary", params={"from": today, "to": today}, headers=auth()).json()[
            "total"
        ]
        == 5
    )
    assert (
        client.get(
            "/api/v1/analytics/summary", params={"from": "2020-01-01", "to": "2020-01-02"}, headers=auth()
        ).json()["total"]
        == 0
    )
    assert (
        client.get("/api/v1/analytics/summary", params={"from": "hôm qua"}, headers=auth()).status_code == 400
    )
    gaps = client.get("/api/v1/analytics/gaps", headers=auth()).json()["gaps"]
    refused = [
        r for r in assistant.insight.rows() if r["status"] != "answered" and r["question"] in NOT_COVERED
    ]
    elderly = next(g for g in gaps if "tuổi" in g["label"])
    assert len(refused) >= 2 and elderly["count"] == len(refused), gaps  # one missing procedure: one group
    assert gaps[0]["count"] >= gaps[-1]["count"]
    client.post(f"/api/v1/analytics/gaps/{elderly['key']}/handled", headers=auth())
    again = client.get("/api/v1/analytics/gaps", headers=auth()).json()["gaps"]
    assert next(g for g in again if g["key"] == elderly["key"])["handled"]
    csv_text = client.get("/api/v1/analytics/questions.csv", headers=auth()).text
    assert (
        csv_text.lstrip("\ufeff").startswith("at,channel,session,question,status,reason")
        and len(csv_text.splitlines()) == 6
    )


def test_the_log_can_be_switched_off(corpus_assistant, tmp_path):
    assistant = make_assistant(
        corpus_assistant.settings.index_dir, data_dir=tmp_path, admin_token=TOKEN, question_log=False
    )
    client = TestClient(create_server(assistant))
    assert client.post("/api/v1/ask", json={"question": "lệ phí khai sinh"}).status_code == 200
    assert not (tmp_path / "insight.sqlite").exists()
    assert client.get("/api/v1/analytics/summary", headers=auth()).json()["error"] == "question_log_disabled"


def _asked(question: str) -> Asked:
    return Asked("api", "s", question, "answered", "best_match", "khai-sinh", "Khai sinh", [], [], 12.0)


def test_old_questions_are_purged(tmp_path):
    log = QuestionLog(f"sqlite:///{tmp_path / 'log.sqlite'}", retention_days=180)
    log.record(_asked("lệ phí khai sinh"))
    log.flush()
    assert log.purge(now=dt.datetime.now() + dt.timedelta(days=10)) == 0
    assert log.purge(now=dt.datetime.now() + dt.timedelta(days=181)) == 1
    assert list(log.rows()) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL cluster (Debian's postgresql package), as a city would point the log at."""
    binaries = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
    if binaries is None:
        pytest.skip("no Debian postgresql server on this machine")
    # Not under pytest's own temporary folder: PostgreSQL runs as its own user, who cannot enter it.
    folder = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        [*run_as, str(binaries / "initdb"), "-D", str(folder / "db"), "-A", "trust", "-U", "app"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            str(binaries / "pg_ctl"),
            "-D",
            str(folder / "db"),
            "-o",
            f"-p {port} -k {folder}",
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://app@/postgres?host={folder}&port={port}"
    finally:
        subprocess.run(
            [*run_as, str(binaries / "pg_ctl"), "-D", str(folder / "db"), "-m", "immediate", "stop"],
            capture_output=True,
        )


def test_the_log_works_on_postgresql(postgres, corpus_assistant, tmp_path):
    assistant = make_assistant(
        corpus_assistant.settings.index_dir, data_dir=tmp_path, admin_token=TOKEN, database_url=postgres
    )
    client = TestClient(create_server(assistant))
    for question in [*NOT_COVERED[:2], "lệ phí khai sinh"]:
        client.post("/api/v1/ask", json={"question": f"{question} {PERSONAL}"})
    summary = client.get("/api/v1/analytics/summary", headers=auth()).json()
    assert summary["total"] == 3
    assert all(
        "079" not in r["question"] and "binh.tran" not in r["question"] for r in assistant.insight.rows()
    )
    assert not (tmp_path / "insight.sqlite").exists()
    started = time.perf_counter()
    assert client.get("/api/v1/analytics/gaps", headers=auth()).status_code == 200
    assert time.perf_counter() - started < 5
