"""Redaction of personal numbers and names before anything is logged or stored.

Every pattern runs in linear time: each can start only where a word or number starts (a lookbehind),
and its repeats are bounded, so a 20,000-character feedback costs a few milliseconds, not a second.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
# Căn cước / CCCD numbers: 12 digits, however they are grouped ("079 123 456 789", "079.123.456.789").
_ID_NUMBER = re.compile(r"(?<![\d.])\d(?:[\s.-]?\d){11}(?!\d)")
# Vietnamese phone numbers: 0xx..., +84 / (+84) / 0084 / 84 followed by the number without its 0.
_PHONE = re.compile(r"(?<![\w.+])(?:\(\s?\+?84\s?\)|\+84|0084|84(?=\d{9}(?!\d))|0)(?:[\s.-]?\d){8,10}(?!\d)")
# A name the user gives ("tôi tên là Nguyễn Văn A", "tên tôi là ..."): the next one to four words.
_NAME = re.compile(
    r"(?i)(?<!\w)((?:tôi|toi|em|mình|minh)\s+tên\s+(?:là\s+)?|(?:tôi|toi|em|mình|minh)\s+ten\s+(?:la\s+)?"
    r"|tên\s+(?:tôi|em|mình)\s+(?:là\s+)?|ten\s+(?:toi|em|minh)\s+(?:la\s+)?)"
    r"[^\W\d_]+(?:[ \t]+[^\W\d_]+){0,3}"
)


def redact(text: str) -> str:
    """Replace e-mail addresses, ID numbers, phone numbers and self-given names with placeholders."""
    text = _EMAIL.sub("[email]", text)
    text = _ID_NUMBER.sub("[số định danh]", text)
    text = _PHONE.sub("[số điện thoại]", text)
    return _NAME.sub(r"\1[họ tên]", text)


# What people write before a number they give: "CCCD 079…", "sđt: 0912…", "mail …".
_LABEL = (
    r"(?:(?:số\s+)?(?:cccd|cmnd|căn\s+cước|can\s+cuoc|định\s+danh|dinh\s+danh|sđt|sdt|số\s+điện\s+thoại"
    r"|so\s+dien\s+thoai|điện\s+thoại|dien\s+thoai|đt|dt|e-?mail|mail|gmail)\s*[:.]?\s*)?"
)
_DETAILS = [re.compile(f"(?i){_LABEL}(?:{p.pattern})") for p in (_EMAIL, _ID_NUMBER, _PHONE)]


def without_personal_details(text: str) -> str:
    """The question without the name, numbers and addresses a citizen introduces herself with: they say
    nothing about the procedure asked, and as words of the question they read as an unexplained topic."""
    left = _NAME.sub(" ", text)
    for pattern in _DETAILS:
        left = pattern.sub(" ", left)
    left = re.sub(r"\s*([,;.])(?:\s*[,;.])+", r"\1", left)
    return re.sub(r"\s+", " ", left).strip(" ,;.") or text
