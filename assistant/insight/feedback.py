"""Citizen feedback (👍/👎 and a comment), stored in SQLite with personal numbers redacted."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from assistant.privacy import redact

RATINGS = ("up", "down")


def _clean(text: str, limit: int) -> str:
    return redact(text[:limit].encode("utf-8", "replace").decode("utf-8"))


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, at TEXT, session TEXT, "
                "question TEXT, answer TEXT, rating TEXT, comment TEXT)"
            )
            self._db.commit()

    def add(self, session: str, question: str, answer: str, rating: str, comment: str = "") -> int:
        if rating not in RATINGS:
            raise ValueError(f"đánh giá phải là một trong {RATINGS}")
        # Cut to size before redacting (redaction then runs on bounded text); a lone surrogate, which
        # SQLite cannot store, is replaced rather than failing the request.
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            _clean(session, 100),
            _clean(question, 4000),
            _clean(answer, 8000),
            rating,
            _clean(comment, 2000),
        )
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO feedback (at, session, question, answer, rating, comment) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
            self._db.commit()
            return int(cursor.lastrowid)

    def all(self) -> list[dict[str, str]]:
        with self._lock:
            cursor = self._db.execute(
                "SELECT id, at, session, question, answer, rating, comment FROM feedback"
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
