"""The staff's view of the question log, one object every channel (API, Thống kê tab) calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.errors import BadInput, InsightUnavailable
from assistant.insight import analytics
from assistant.insight.gaps import group
from assistant.insight.log import CHANNELS, QuestionLog


@dataclass
class StaffInsight:
    log: QuestionLog | None
    titles: Callable[[], dict[str, str]]  # doc id -> title, from the served snapshot
    centre: Callable[[], np.ndarray]  # the mean passage vector of the served snapshot
    stale_guides: Callable[[], list[dict[str, str]]]

    def rows(
        self, start: str | None = None, end: str | None = None, channel: str | None = None
    ) -> list[dict]:
        """Logged asks from day ``start`` to day ``end`` (both included, 'YYYY-MM-DD'), one channel or all."""
        if self.log is None:
            raise InsightUnavailable("nhật ký câu hỏi đang tắt (ASSISTANT_QUESTION_LOG=false)")
        if channel and channel not in CHANNELS:
            raise BadInput(f"kênh '{channel}' không tồn tại; dùng: {', '.join(CHANNELS)}")
        try:
            span = analytics.parse_day(start), analytics.parse_day(end, end=True)
        except ValueError as exc:
            raise BadInput(f"ngày phải có dạng YYYY-MM-DD: {exc}") from exc
        return list(self.log.rows(*span, channel or None))

    def summary(self, start: str | None = None, end: str | None = None, channel: str | None = None) -> dict:
        rows = self.rows(start, end, channel)
        return {**analytics.summary(rows), "per_day": analytics.per_day(rows)}

    def gaps(self, start: str | None = None, end: str | None = None) -> dict[str, object]:
        """Refused and clarified questions grouped by topic, largest first, and the stale guides."""
        rows = self.rows(start, end)
        found = group(rows, self.titles(), self.log.handled_keys(), self.centre())
        return {"gaps": [g.as_dict() for g in found], "stale_guides": self.stale_guides()}

    def mark_handled(self, key: str) -> None:
        if self.log is None:
            raise InsightUnavailable("nhật ký câu hỏi đang tắt (ASSISTANT_QUESTION_LOG=false)")
        self.log.mark_handled(key)

    def csv(self, start: str | None = None, end: str | None = None, channel: str | None = None) -> str:
        return analytics.csv_text(self.rows(start, end, channel))
