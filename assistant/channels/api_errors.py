"""How the service's typed failures become HTTP answers: one table, one helper. Errors are always
JSON ``{"error", "detail"}``; no stack trace reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from assistant.errors import (
    BadInput,
    IndexUnavailable,
    InsightUnavailable,
    QuestionError,
    QuestionTooLong,
    UnknownFilter,
    UnsupportedUpload,
    UploadTooLarge,
)
from assistant.privacy import redact

log = logging.getLogger("assistant.api")
T = TypeVar("T")

# Typed failures and the HTTP answer each gets; the first class that matches wins (specific first).
ERRORS: dict[type[Exception], tuple[int, str]] = {
    QuestionTooLong: (413, "bad_question"),
    QuestionError: (400, "bad_question"),
    UnknownFilter: (400, "unknown_filter"),
    UploadTooLarge: (413, "bad_upload"),
    UnsupportedUpload: (415, "bad_upload"),
    IndexUnavailable: (503, "index_unavailable"),
    BadInput: (400, "bad_input"),
    InsightUnavailable: (503, "question_log_disabled"),
    UnicodeError: (400, "invalid_text"),
}
_VECTOR_STORE_MODULES = ("chromadb", "httpx", "httpcore")


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def guarded(call: Callable[[], T]) -> T:
    """Run a service call, mapping its typed failures to API errors by the ERRORS table."""
    try:
        return call()
    except Exception as exc:
        for kind, (status, error) in ERRORS.items():
            if isinstance(exc, kind):
                raise ApiError(status, error, str(exc)) from exc
        if type(exc).__module__.startswith(_VECTOR_STORE_MODULES):
            log.error("vector store error: %s", redact(repr(exc)))
            detail = "Kho vector tạm thời không truy cập được."
            raise ApiError(503, "vector_store_unavailable", detail) from exc
        raise
