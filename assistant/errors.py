"""The typed failures every channel maps to its own answer (the API's status codes are one table in
``channels/api.py``). Each message is in Vietnamese and says what the user can do."""

from __future__ import annotations


class QuestionError(ValueError):
    """A question that cannot be asked: empty, not text, or with characters no store can keep."""


class QuestionTooLong(QuestionError):
    """A question over the configured length; refused before any text processing runs on it."""


class UnknownFilter(ValueError):
    """A filter value that names no kind, field or level in the index."""


class IndexUnavailable(RuntimeError):
    """The index is missing, unreadable or cannot be written; the message says what to do."""


class UploadError(ValueError):
    """An upload refused for a reason the uploader can fix (name, type or size)."""


class UploadTooLarge(UploadError):
    pass


class UnsupportedUpload(UploadError):
    pass


class BadInput(ValueError):
    """A parameter a person can correct: a date, a channel name."""


class InsightUnavailable(RuntimeError):
    """The question log is switched off (ASSISTANT_QUESTION_LOG=false)."""
