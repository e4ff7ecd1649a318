"""Case 5 (medium): redaction missed '(+84) 912 345 678' and '84912345678', cut '079 123 456 789' into
'[số điện thoại] 789', and stored a number that sat in the session id."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from assistant.privacy import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gọi (+84) 912 345 678 nhé", "gọi [số điện thoại] nhé"),
        ("số 84912345678", "số [số điện thoại]"),
        ("CCCD 079 123 456 789 của tôi", "CCCD [số định danh] của tôi"),
        ("CCCD 079.123.456.789", "CCCD [số định danh]"),
        ("0084 912 345 678", "[số điện thoại]"),
        ("tôi tên là Nguyễn Văn An, hỏi khai sinh", "tôi tên là [họ tên], hỏi khai sinh"),
        ("lệ phí 2.000.000 đồng theo mã 1.001193", "lệ phí 2.000.000 đồng theo mã 1.001193"),
    ],
)
def test_phone_id_and_name_spellings(text, expected):
    assert redact(text) == expected


def test_numbers_in_the_session_id_are_not_stored(live_server):
    r = httpx.post(
        f"{live_server.url}/api/v1/feedback",
        json={
            "session_id": "0912345678",
            "question": "khai sinh",
            "rating": "up",
            "comment": "(+84) 912 345 678",
        },
        timeout=10,
    )
    assert r.status_code == 201
    stored = (live_server.data_dir / "feedback.sqlite").read_bytes()
    assert b"912345678" not in stored and b"912 345 678" not in stored
    row = (
        sqlite3.connect(live_server.data_dir / "feedback.sqlite")
        .execute("SELECT session, comment FROM feedback ORDER BY id DESC")
        .fetchone()
    )
    assert row == ("[số điện thoại]", "[số điện thoại]")
