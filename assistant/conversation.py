"""Conversation state: what each session is talking about, bounded in memory and expiring."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from assistant.answer import Option


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
