"""Documents are data: markup reduced to text, instructions to the assistant and requests for personal
data taken out, links checked, all at ingest, so that no channel ever receives them from a document.

Every pattern here runs in linear time on any input (no nested or unbounded repeats that can
backtrack), because uploaded documents are untrusted.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlparse

from assistant.text import fold

_TAG = re.compile(r"<[A-Za-z/!?]")  # where markup may start; plain text is left as it is
# Markdown images and links keep their visible words only: ![alt](url) -> alt, [text](url) -> text.
_MD_LINK = re.compile(r"!?\[([^\[\]\n]{0,500})\]\([^()\s]{0,2000}(?:\s+\"[^\"\n]{0,300}\")?\)")
_SKIPPED_ELEMENTS = {"script", "style", "template", "noscript", "iframe", "object", "svg", "head"}
_BLOCK_ELEMENTS = {"p", "div", "br", "li", "tr", "form", "section", "article", "table", "ul", "ol"}
_BLOCK_ELEMENTS |= {f"h{n}" for n in range(1, 7)}

# Folded phrases of a line that speaks to the assistant instead of informing the citizen.
_INSTRUCTION = re.compile(
    r"\b(bo qua|phot lo|ignore|disregard|forget)\b.{0,40}"
    r"\b(huong dan|chi dan|chi thi|lenh|quy tac|instructions?|prompts?|rules?)\b"
    r"|\b(ban la|you are|dong vai|act as)\b.{0,20}\b(tro ly|chatbot|ai|assistant|mo hinh)\b"
    r"|\bsystem prompt\b|\b(hay|phai) tra loi (rang|la)\b|\bkhi duoc hoi\b.{0,60}\btra loi\b"
)
# Requests for secrets or for personal numbers to be typed or sent somewhere.
_PERSONAL_DATA = re.compile(
    r"\b(gui|cung cap|cho biet|doc|bao|nhap)\b.{0,30}"
    r"\b(mat khau|ma otp|otp|ma pin|password|so the ngan hang|so tai khoan ngan hang)\b"
    r"|\b(nhap|dien|gui|go|cung cap)\b.{0,30}\b(so cccd|so can cuoc|so cmnd|so dinh danh|cccd)\b"
    r".{0,60}\b(form|duong dan|link|zalo|email|e-mail|tin nhan|website|trang web|so dien thoai)\b"
)


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment; script-like elements are dropped with their content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self._skipping += 1
        elif tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def plain_text(text: str) -> str:
    """The text with HTML tags, comments and markdown links/images reduced to their visible words.
    Text without any markup is returned unchanged (so '<' in 'trẻ < 14 tuổi' is kept)."""
    text = _MD_LINK.sub(r"\1", text)
    if not _TAG.search(text):
        return text
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts))


def is_suspicious(line: str) -> bool:
    """A line that gives the assistant instructions or asks the reader for secrets or ID numbers."""
    folded = fold(line).lower()
    return bool(_INSTRUCTION.search(folded) or _PERSONAL_DATA.search(folded))


def without_suspicious_lines(text: str) -> tuple[str, list[str]]:
    """The text without suspicious lines, and those lines (for the ingest report)."""
    kept, flagged = [], []
    for line in text.splitlines():
        (flagged if is_suspicious(line) else kept).append(line)
    return ("\n".join(kept) if flagged else text), [line.strip() for line in flagged]


def safe_url(url: str) -> str:
    """The URL if it is a plain http(s) address, else '' (no javascript:, data:, or relative links)."""
    url = url.strip()
    parsed = urlparse(url)
    return url if parsed.scheme in ("http", "https") and parsed.netloc and len(url) <= 2000 else ""


def allowed_link(url: str, domains: list[str]) -> bool:
    """True for an http(s) link whose host is one of ``domains`` or a subdomain of one."""
    host = (urlparse(safe_url(url)).hostname or "").lower()
    return bool(host) and any(host == d or host.endswith(f".{d}") for d in domains)
