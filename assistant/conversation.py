"""Conversation state: what each session is talking about, bounded in memory and expiring."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.pipeline.answers import Option


@dataclass
class Session:
    id: str
    focus_doc: str | None = None
    pending_options: list[Option] = field(default_factory=list)
    pending_question: str = ""
    turns: int = 0
    last_seen: float = field(default_factory=time.monotonic)

    def reset(self) -> None:
        self.focus_doc = None
        self.pending_options = []
        self.pending_question = ""


class SessionStore:
    """At most ``max_sessions`` sessions; one idle for ``ttl_seconds`` is forgotten."""

    def __init__(self, max_sessions: int = 5000, ttl_seconds: float = 1800) -> None:
        self.max_sessions = max_sessions
        self.ttl_seconds = ttl_seconds
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Session:
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            session = self._sessions.pop(session_id, None) or Session(id=session_id)
            session.last_seen = now
            self._sessions[session_id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            return session

    def _expire(self, now: float) -> None:
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if now - oldest.last_seen <= self.ttl_seconds:
                break
            self._sessions.popitem(last=False)

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: str) -> bool:
        return session_id in self._sessions


class SessionFile:
    """Keeps CLI sessions between invocations (the servers keep theirs in memory)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def restore(self, store: SessionStore, session_id: str) -> None:
        saved = self._read().get(session_id)
        if saved:
            session = store.get(session_id)
            session.focus_doc = saved.get("focus_doc")
            session.pending_question = saved.get("pending_question", "")
            session.pending_options = [Option(**o) for o in saved.get("pending_options", [])]

    def save(self, store: SessionStore, session_id: str) -> None:
        session = store.get(session_id)
        saved = self._read()
        saved[session_id] = {
            "focus_doc": session.focus_doc,
            "pending_question": session.pending_question,
            "pending_options": [asdict(o) for o in session.pending_options],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
