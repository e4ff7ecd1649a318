"""Redaction of personal numbers before anything is logged or stored."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CCCD = re.compile(r"(?<!\d)\d{12}(?!\d)")  # căn cước / CCCD numbers have 12 digits
_PHONE = re.compile(r"(?<![\d.])(?:\+84|0084|0)(?:[\s.-]?\d){8,10}(?!\d)")


def redact(text: str) -> str:
    """Replace e-mail addresses, 12-digit ID numbers and Vietnamese phone numbers with placeholders."""
    text = _EMAIL.sub("[email]", text)
    text = _CCCD.sub("[số định danh]", text)
    return _PHONE.sub("[số điện thoại]", text)
