"""What the assistant hands back: an ``Answer`` with numbered citations, or the options of a question
asked back, or a refusal; and the fixed texts of the last two."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from assistant.text import folded_tokens

Status = Literal["answered", "clarify", "refused"]
MARKER = re.compile(r"\s*\[(\d+)\]")  # a citation marker such as [2]
REFUSAL_TEXT = (
    "Xin lỗi, tôi chưa tìm thấy thông tin cho câu hỏi này trong cơ sở tri thức về thủ tục hành chính "
    "của Thành phố. Bạn có thể gọi **Tổng đài 1022** hoặc liên hệ **Trung tâm Phục vụ hành chính công** "
    "gần nhất để được hướng dẫn."
)
NOT_IN_KB_TEXT = (
    "Tôi hiểu bạn hỏi về thủ tục **{topic}**. Thủ tục này hiện **chưa có trong cơ sở tri thức** của trợ "
    "lý, nên tôi không trả lời thay bằng hướng dẫn của một thủ tục khác. Bạn có thể:\n"
    "- gọi **Tổng đài 1022** của Thành phố;\n"
    "- hỏi trực tiếp **Trung tâm Phục vụ hành chính công** (điểm tiếp nhận ở xã, phường, đặc khu);\n"
    "- tìm tên thủ tục trên **Cổng Dịch vụ công quốc gia** (dichvucong.gov.vn)."
)
NEAREST_TEXT = "Nếu bạn muốn hỏi thủ tục gần nhất mà tôi có, hãy chọn:"
_ORDINALS = {"mot": 1, "nhat": 1, "dau": 1, "hai": 2, "nhi": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5}


class AsDict:
    """JSON-ready form of a dataclass, for the API and the evaluator."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Citation(AsDict):
    n: int
    doc_id: str
    title: str
    section: str
    source: str
    url: str
    quote: str
    chunk_id: str


@dataclass
class Option(AsDict):
    n: int
    doc_id: str
    title: str
    level: str = ""


@dataclass
class Answer:
    text: str
    status: Status
    citations: list[Citation] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    related: list[Option] = field(default_factory=list)  # other procedures the answer names
    aspect: str = "general"
    doc_id: str | None = None
    reason: str = ""  # why this status: see pipeline/policy.py Reason
    backend: str = "extractive"
    flags: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "status": self.status,
            "citations": [c.as_dict() for c in self.citations],
            "options": [o.as_dict() for o in self.options],
            "related": [o.as_dict() for o in self.related],
            "aspect": self.aspect,
            "doc_id": self.doc_id,
            "reason": self.reason,
            "backend": self.backend,
            "flags": self.flags,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
        }


def refusal(reason: str, topic: str = "", options: list[Option] | None = None) -> Answer:
    """A decline with a redirect. For a procedure the knowledge base lacks it names what was
    understood, and may offer the nearest procedure it holds."""
    options = options or []
    if reason != "not_in_knowledge_base" or not topic:
        return Answer(text=REFUSAL_TEXT, status="refused", flags=[reason], reason=reason)
    lines = [NOT_IN_KB_TEXT.format(topic=topic)]
    if options:
        lines += ["", NEAREST_TEXT, *_option_lines(options)]
    return Answer(text="\n".join(lines), status="refused", options=options, flags=[reason], reason=reason)


def clarification(options: list[Option], reason: str = "") -> Answer:
    lines = ["Bạn muốn hỏi về thủ tục nào? Trả lời bằng số thứ tự:", *_option_lines(options)]
    return Answer(text="\n".join(lines), status="clarify", options=options, reason=reason)


def _option_lines(options: list[Option]) -> list[str]:
    return [f"{o.n}. {o.title}" + (f" ({o.level})" if o.level else "") for o in options]


def pick_option(message: str, options: list[Option]) -> Option | None:
    """'2', 'số 2', 'cái thứ hai', 'thủ tục thứ nhất' or an option's title pick that option."""
    words = folded_tokens(message)
    if not words:
        return None
    chosen: int | None = None
    if len(words) <= 5:
        for word in words:
            if word.isdigit():
                chosen = int(word)
                break
            if word in _ORDINALS and ("thu" in words or len(words) == 1 or word in {"nhat", "nhi"}):
                chosen = _ORDINALS[word]
                break
    if chosen is not None:
        return next((o for o in options if o.n == chosen), None)
    text = " ".join(words)
    matches = [o for o in options if " ".join(folded_tokens(o.title)) in text]
    return matches[0] if len(matches) == 1 else None
