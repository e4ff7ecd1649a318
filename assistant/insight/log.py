"""The question log: one row per ask from every channel, redacted before it is stored.

SQLite under ``ASSISTANT_DATA_DIR`` by default, or any SQLAlchemy URL (``ASSISTANT_DATABASE_URL``,
e.g. PostgreSQL). Rows are written by a background thread, so an ask does not wait for the database.
For refused and clarified questions the question's embedding is kept too: the gap report groups them
by meaning without embedding anything again. Rows older than the retention period are purged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine

from assistant.privacy import redact

log = logging.getLogger("assistant.insight")
CHANNELS = ("web", "api", "cli")
metadata = MetaData()
questions = Table(
    "questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, index=True, nullable=False),  # UTC, without a zone (the same in every database)
    Column("channel", String(16), index=True, nullable=False),
    Column("session", String(120), index=True, nullable=False),
    Column("question", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("doc_id", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("sources", Text, nullable=False),  # JSON list of the documents cited
    Column("candidates", Text, nullable=False),  # JSON list of the best documents retrieval found
    Column("latency_ms", Float, nullable=False),
    Column("feedback", String(8), nullable=False, default=""),
    Column("comment", Text, nullable=False, default=""),
    Column("vector", LargeBinary, nullable=True),  # float32 embedding, refused and clarified only
)
handled = Table(
    "gap_handled",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("at", DateTime, nullable=False),
)


@dataclass
class Asked:
    """One ask as a channel saw it, before redaction."""

    channel: str
    session: str
    question: str
    status: str
    reason: str
    doc_id: str
    title: str
    sources: list[str]
    candidates: list[str]
    latency_ms: float
    vector: np.ndarray | None = None


def database_url(url: str, data_dir: Path) -> str:
    if url:
        return url
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'insight.sqlite').resolve()}"


class QuestionLog:
    def __init__(self, url: str, retention_days: int = 180) -> None:
        self.engine: Engine = create_engine(url, pool_pre_ping=True, future=True)
        metadata.create_all(self.engine)
        self.retention_days = retention_days
        self._queue: queue.Queue[Asked | threading.Event] = queue.Queue(maxsize=10_000)
        self._writer = threading.Thread(target=self._write_forever, name="question-log", daemon=True)
        self._writer.start()

    def record(self, asked: Asked) -> None:
        """Queue one ask; never blocks the ask (a full queue drops the row and says so in the log)."""
        try:
            self._queue.put_nowait(asked)
        except queue.Full:
            log.warning("question log queue full: one ask not logged")

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued ask is written (before reading the log)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def _write_forever(self) -> None:
        while True:
            item = self._queue.get()
            batch: list[Asked] = []
            events: list[threading.Event] = []
            while True:
                (events if isinstance(item, threading.Event) else batch).append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    with self.engine.begin() as connection:
                        connection.execute(insert(questions), [_row(a) for a in batch])
                except Exception as exc:  # a database outage must not take the assistant down
                    log.error("question log write failed: %s", redact(repr(exc)))
            for event in events:
                event.set()

    def add_feedback(self, session: str, question: str, rating: str, comment: str) -> None:
        """Attach 👍/👎 to the latest logged ask of that session and question."""
        self.flush()
        with self.engine.begin() as connection:
            latest = connection.execute(
                select(questions.c.id)
                .where(
                    questions.c.session == _clean(session, 120),
                    questions.c.question == _clean(question, 4000),
                )
                .order_by(questions.c.id.desc())
                .limit(1)
            ).scalar()
            if latest is not None:
                connection.execute(
                    update(questions)
                    .where(questions.c.id == latest)
                    .values(feedback=rating, comment=_clean(comment, 2000))
                )

    def rows(
        self, start: dt.datetime | None = None, end: dt.datetime | None = None, channel: str | None = None
    ) -> Iterator[dict]:
        """Logged asks between ``start`` and ``end`` (UTC, without a zone), oldest first."""
        self.flush()
        query = select(questions).order_by(questions.c.id)
        if start:
            query = query.where(questions.c.at >= start)
        if end:
            query = query.where(questions.c.at < end)
        if channel:
            query = query.where(questions.c.channel == channel)
        with self.engine.connect() as connection:
            for row in connection.execute(query).mappings():
                yield dict(row)

    def purge(self, now: dt.datetime | None = None) -> int:
        """Delete rows older than the retention period; returns how many went."""
        self.flush()
        cutoff = (now or utc_now()) - dt.timedelta(days=self.retention_days)
        with self.engine.begin() as connection:
            return connection.execute(delete(questions).where(questions.c.at < cutoff)).rowcount

    def handled_keys(self) -> set[str]:
        with self.engine.connect() as connection:
            return {row[0] for row in connection.execute(select(handled.c.key))}

    def mark_handled(self, key: str) -> None:
        with self.engine.begin() as connection:
            if key not in {
                r[0] for r in connection.execute(select(handled.c.key).where(handled.c.key == key))
            }:
                connection.execute(insert(handled).values(key=key[:200], at=utc_now()))


def utc_now() -> dt.datetime:
    """The current time in UTC, without a zone: how the log stores and compares times."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _clean(text: str, limit: int) -> str:
    return redact(text[:limit].encode("utf-8", "replace").decode("utf-8"))


def _row(asked: Asked) -> dict[str, object]:
    vector = None if asked.vector is None else np.asarray(asked.vector, dtype=np.float32).tobytes()
    return {
        "at": utc_now(),
        "channel": asked.channel if asked.channel in CHANNELS else "api",
        "session": _clean(asked.session, 120),
        "question": _clean(asked.question, 4000),
        "status": asked.status,
        "reason": asked.reason,
        "doc_id": asked.doc_id[:200],
        "title": asked.title[:500],
        "sources": json.dumps(asked.sources[:10], ensure_ascii=False),
        "candidates": json.dumps(asked.candidates[:5], ensure_ascii=False),
        "latency_ms": float(asked.latency_ms),
        "feedback": "",
        "comment": "",
        "vector": vector,
    }
