"""Extractive answers: every sentence shown is a line or sentence of a cited passage, never rewritten.

The answerer works out what is asked (fee, time, documents, ...), takes the matching section of the
best procedure, or the best-matching sentences of a report, and numbers each passage it quotes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from itertools import pairwise

from assistant.documents import SUMMARY_SECTION
from assistant.index import IndexVersion
from assistant.text import fold, folded_tokens

ASPECTS = (
    "documents",
    "fee",
    "time",
    "steps",
    "where",
    "result",
    "eligibility",
    "online",
    "legal_basis",
    "general",
)

# Folded cue phrases for each aspect, checked in this order (the first aspect with a cue wins).
ASPECT_CUES: dict[str, tuple[str, ...]] = {
    "legal_basis": (
        "can cu",
        "luat nao",
        "nghi dinh nao",
        "thong tu nao",
        "van ban nao",
        "quy dinh nao",
        "co so phap ly",
        "phap ly",
        "nghi dinh",
        "thong tu",
    ),
    "time": (
        "bao lau",
        "may ngay",
        "bao nhieu ngay",
        "thoi han",
        "thoi gian",
        "bao gio",
        "khi nao",
        "lau khong",
        "lau ko",
        "lau k",
        "mat may",
        "trong ngay",
        "han chot",
        "may gio",
        "het han",
        "qua han",
        "tre han",
        "ngay lam viec",
    ),
    "fee": (
        "le phi",
        "phi",
        "bao nhieu tien",
        "mat tien",
        "ton tien",
        "het tien",
        "tien",
        "mien phi",
        "ton bao nhieu",
        "mat bao nhieu",
        "het bao nhieu",
        "ton phi",
    ),
    "online": ("online", "truc tuyen", "qua mang", "vneid", "dich vu cong", "tren mang", "onl", "toan trinh"),
    "where": (
        "o dau",
        "noi nop",
        "nop o",
        "nop tai",
        "co quan nao",
        "di dau",
        "cho nao",
        "dia chi",
        "phuong nao",
        "lam o",
        "lam tai",
        "don vi nao",
        "ai giai quyet",
        "ai cap",
        "cap nao",
        "noi nao",
        "kenh nao",
        "buu dien",
        "buu chinh",
        "ve que",
        "ai ky",
    ),
    "result": (
        "ket qua la gi",
        "ket qua gi",
        "tra ket qua",
        "nhan duoc gi",
        "nhan duoc nhung gi",
        "nhan lai gi",
        "nhan lai nhung gi",
        "nhan giay gi",
        "duoc nhan giay",
        "duoc cap gi",
        "duoc cap may ban",
        "cap may ban",
        "quyet dinh gi",
        "tra ve la gi",
        "tra ve gi",
    ),
    "documents": (
        "giay to",
        "ho so",
        "can gi",
        "can nhung gi",
        "mang gi",
        "mang theo",
        "thanh phan",
        "chuan bi",
        "nop gi",
        "can nhung",
        "to khai",
        "mau",
        "giay gi",
        "nhung gi",
        "can giay",
        "bang gi",
        "can mang",
        "phai nop",
        "ban sao",
        "photo",
        "can them",
        "co can",
        "ban chinh",
    ),
    "eligibility": (
        "ai duoc",
        "dieu kien",
        "ai co the",
        "doi tuong",
        "co duoc",
        "ai phai",
        "ai lam",
        "duoc khong",
        "co the",
        "uy quyen",
        "lam thay",
        "nho nguoi",
        "duoc ko",
        "duoc k",
        "co phai",
        "hay la",
        "hay cap",
    ),
    "steps": (
        "trinh tu",
        "cac buoc",
        "quy trinh",
        "nhu the nao",
        "the nao",
        "lam sao",
        "cach lam",
        "ra sao",
        "kieu gi",
        "lam gi",
        "xu ly sao",
        "buoc",
    ),
    "general": ("thu tuc gi", "la gi", "ket qua", "thu tuc nao", "nhung thu tuc"),
}

# Sections (folded name prefixes) that answer each aspect, best first.
SECTIONS_FOR_ASPECT: dict[str, tuple[str, ...]] = {
    "documents": ("thanh phan ho so",),
    "fee": ("phi va le phi", "cach thuc thuc hien"),
    "time": ("thoi han giai quyet", "cach thuc thuc hien"),
    "steps": ("trinh tu thuc hien",),
    "where": ("noi nop ho so", "cach thuc thuc hien"),
    "eligibility": ("ai thuc hien", "yeu cau, dieu kien"),
    "online": ("noi nop ho so", "cach thuc thuc hien"),
    "legal_basis": ("can cu phap ly",),
    "result": ("ket qua",),
}
SUMMARY_LABELS_FOR_ASPECT = {
    "fee": "phi, le phi",
    "time": "thoi han giai quyet",
    "where": "co quan, noi nop",
    "online": "nop truc tuyen",
}
CARD_LABELS = ("phi, le phi", "thoi han giai quyet", "co quan, noi nop", "nop truc tuyen")

ASPECT_TITLES = {
    "documents": "Hồ sơ cần chuẩn bị",
    "fee": "Phí, lệ phí",
    "time": "Thời hạn giải quyết",
    "steps": "Các bước thực hiện",
    "where": "Nơi nộp hồ sơ",
    "eligibility": "Ai thực hiện, điều kiện",
    "online": "Nộp trực tuyến",
    "legal_basis": "Căn cứ pháp lý",
    "result": "Kết quả nhận được",
    "general": "Tóm tắt",
}

# Folded words that carry no topic: pronouns, particles, question words, chat abbreviations.
STOPWORDS = frozenset(
    [
        "toi",
        "minh",
        "em",
        "anh",
        "chi",
        "ban",
        "ad",
        "admin",
        "a",
        "ah",
        "oi",
        "ak",
        "nhe",
        "nha",
        "nhi",
        "vay",
        "the",
        "thi",
        "sao",
        "con",
        "ma",
        "la",
        "va",
        "voi",
        "cho",
        "hoi",
        "xin",
        "giup",
        "duoc",
        "khong",
        "ko",
        "k",
        "hong",
        "co",
        "chua",
        "roi",
        "nua",
        "di",
        "lam",
        "can",
        "gi",
        "nao",
        "bao",
        "nhieu",
        "lau",
        "may",
        "khi",
        "o",
        "dau",
        "ai",
        "the",
        "nhu",
        "ra",
        "cac",
        "nhung",
        "mot",
        "hai",
        "ba",
        "cai",
        "so",
        "thu",
        "nhat",
        "ah",
        "u",
        "uh",
        "vang",
        "da",
        "de",
        "se",
        "dang",
        "bi",
        "phai",
        "nen",
        "neu",
        "vi",
        "sao",
        "gio",
        "moi",
        "mat",
        "ton",
        "het",
        "tai",
        "tu",
        "den",
        "trong",
        "ngoai",
        "len",
        "xuong",
        "ve",
        "qua",
        "luc",
        "hay",
        "hoac",
        "cung",
        "deu",
        "rat",
        "lai",
        "vao",
        "nay",
        "do",
        "kia",
        "day",
        "ay",
        "oke",
        "ok",
        "dc",
        "duoc",
        "h",
        "thoi",
        "nhieu",
        "it",
    ]
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[A-ZĐÀ-Ỹ0-9\"“(-])|\n+")
_FIGURE_CUES = ("bao nhieu", "may", "ti le", "ty le", "phan tram", "so luong", "con so")
MARKER = re.compile(r"\s*\[(\d+)\]")  # a citation marker such as [2]
MAX_LINES = 18
MAX_CHARS = 2000
RELATED_MIN_SCORE = 2.0  # topic words a sentence must share to be added as related detail
FOUND_SECTION_BONUS = 1.0
MAX_LIST_ITEMS = 4  # list items kept under a picked sentence that introduces a list
SHORT_LIST_ITEM = 40  # characters; shorter items are parts of one figure rather than statements
# "Làm sao / cần làm gì" and "có được không" also mean "what must I bring": such answers add the
# documents list when the question names no second aspect itself.
COMPANION_ASPECT = {"steps": "documents", "eligibility": "documents"}
# A citizen's own deadline ("hạn chót", "khi nào phải") is not the office's processing time: it sits
# in sentences such as "trong thời hạn 10 ngày" or "chậm nhất 60 ngày kể từ ngày sinh con".
_DEADLINE_ASKED = ("han chot", "cham nhat", "phai", "toi da", "qua han", "tre han", "het han")
_DEADLINE_WORDS = re.compile(r"chậm nhất|trong thời hạn|trong vòng|kể từ|trước|sau", re.IGNORECASE)
_DURATION = re.compile(r"\d+\s*(ngày|tháng)", re.IGNORECASE)
DEADLINE_BONUS = 4.0
# "Bao nhiêu / tỉ lệ" is answered by a sentence with a number; one without a number rarely is.
FIGURE_BONUS = 3.0
# Folded phrases used for one another ("trễ hạn" asked, "quá hạn" written); each is read as the first.
SYNONYMS = (("tre han", "qua han", "cham tre"),)


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    source: str
    url: str
    quote: str
    chunk_id: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Option:
    n: int
    doc_id: str
    title: str
    level: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Answer:
    text: str
    status: str  # answered | clarify | refused
    citations: list[Citation] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    aspect: str = "general"
    doc_id: str | None = None
    backend: str = "extractive"
    flags: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "status": self.status,
            "citations": [c.as_dict() for c in self.citations],
            "options": [o.as_dict() for o in self.options],
            "aspect": self.aspect,
            "doc_id": self.doc_id,
            "backend": self.backend,
            "flags": self.flags,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
        }


def detect_aspects(question: str) -> list[str]:
    """Every aspect the question asks about, in the order the question asks them."""
    text = f" {' '.join(folded_tokens(question))} "
    found: dict[str, int] = {}
    for aspect, cues in ASPECT_CUES.items():
        positions = [text.find(f" {cue} ") for cue in cues if f" {cue} " in text]
        if positions:
            found[aspect] = min(positions)
    return sorted(found, key=found.get) or ["general"]


def detect_aspect(question: str) -> str:
    """The main aspect: the first cue that the order of ASPECT_CUES ranks highest."""
    aspects = detect_aspects(question)
    return next((a for a in ASPECT_CUES if a in aspects), "general")


def topic_words(question: str) -> list[str]:
    """Folded words that name a topic: what is left after cue phrases and stopwords are removed."""
    text = f" {' '.join(folded_tokens(question))} "
    for cues in ASPECT_CUES.values():
        for cue in cues:
            text = text.replace(f" {cue} ", " ")
    return [w for w in text.split() if w not in STOPWORDS and not w.isdigit()]


def canonical_words(text: str) -> list[str]:
    """Folded words with every synonym phrase replaced by the first phrase of its group."""
    joined = f" {' '.join(folded_tokens(text))} "
    for first, *others in SYNONYMS:
        for phrase in others:
            joined = joined.replace(f" {phrase} ", f" {first} ")
    return joined.split()


def wanted_words(asked: list[str]) -> set[str]:
    """Of the question's canonical words, those that can tell one sentence from another (all of them
    if none is left)."""
    return {w for w in asked if w not in STOPWORDS and not w.isdigit()} or set(asked)


def on_topic_items(sentence: str, wanted: set[str]) -> str:
    """A picked sentence with only the list items that share the most words with the question, when
    the items are statements of their own; short parts of one figure ('113 phường;') stay together,
    and so does a list none of whose items matches (the opening line did)."""
    intro, *items = sentence.split("\n")
    if all(len(item) < SHORT_LIST_ITEM for item in items):
        return sentence
    shared = [len(wanted & set(canonical_words(item))) for item in items]
    if max(shared) == 0:
        return sentence
    return "\n".join([intro, *(item for item, n in zip(items, shared, strict=True) if n == max(shared))])


def wants_figure(question: str) -> bool:
    folded = fold(question).lower()
    return any(cue in folded for cue in _FIGURE_CUES)


def asks_deadline(question: str) -> bool:
    """A time question about what the citizen must do by when, not how long the office takes."""
    folded = f" {' '.join(folded_tokens(question))} "
    return "time" in detect_aspects(question) and any(f" {cue} " in folded for cue in _DEADLINE_ASKED)


class Composer:
    """Builds the text and citations of one extractive answer from one index version."""

    def __init__(self, version: IndexVersion) -> None:
        self.version = version
        self.citations: list[Citation] = []
        self._number: dict[int, int] = {}

    def cite(self, row: int, quote: str | None = None) -> int:
        """The citation number of a passage; a whole-section quote replaces the chunk it contains."""
        if row in self._number:
            cited = self.citations[self._number[row] - 1]
            if quote and len(quote) > len(cited.quote) and cited.quote in quote:
                cited.quote = quote
        if row not in self._number:
            meta = self.version.metadatas[row]
            n = len(self.citations) + 1
            self._number[row] = n
            self.citations.append(
                Citation(
                    n=n,
                    doc_id=meta["doc_id"],
                    title=meta["title"],
                    section=meta["section"],
                    source=meta["source"],
                    url=meta.get("url", ""),
                    quote=quote if quote is not None else self.version.texts[row],
                    chunk_id=self.version.ids[row],
                )
            )
        return self._number[row]

    def _section_rows(self, doc_id: str, prefixes: tuple[str, ...]) -> list[int]:
        rows = self.version.doc_chunks(doc_id)
        for prefix in prefixes:
            found = [r for r in rows if fold(self.version.metadatas[r]["section"]).lower().startswith(prefix)]
            if found:
                return found
        return []

    def _lines(self, rows: list[int], limit: int = MAX_LINES) -> tuple[list[str], bool]:
        """Distinct lines of the rows (chunks overlap), each ending with its citation marker."""
        out: list[str] = []
        seen: set[str] = set()
        size = 0
        for row in rows:
            for line in self.version.texts[row].splitlines():
                key = line.strip()
                if not key or key in seen:
                    continue
                if len(out) >= limit or size + len(key) > MAX_CHARS:
                    return out, True
                seen.add(key)
                size += len(key)
                out.append(f"{line.rstrip()} [{self.cite(row)}]")
        return out, False

    def _summary_line(self, doc_id: str, label: str) -> str | None:
        for row in self._section_rows(doc_id, (fold(SUMMARY_SECTION).lower(),)):
            for line in self.version.texts[row].splitlines():
                if fold(line).lower().lstrip("- ").startswith(label):
                    return f"{line.strip()} [{self.cite(row)}]"
        return None

    def procedure(self, doc_id: str, aspect: str) -> str:
        title = self.version.metadatas[self.version.doc_chunks(doc_id)[0]]["title"]
        parts = [f"**{title}** — {ASPECT_TITLES[aspect]}:"]
        if aspect == "general":
            parts += [line for label in CARD_LABELS if (line := self._summary_line(doc_id, label))]
            rows = self._section_rows(doc_id, SECTIONS_FOR_ASPECT["documents"])
            if rows:
                lines, cut = self._lines(rows, limit=8)
                parts += ["", "Hồ sơ gồm:", *lines]
                if cut:
                    parts.append(f"(Danh sách còn tiếp, xem nguồn [{self.cite(rows[0])}].)")
            if len(parts) == 1:  # no card and no documents list: fall back to the opening passage
                lines, _ = self._lines(self.version.doc_chunks(doc_id)[:1])
                parts += lines
            return "\n".join(parts)
        label = SUMMARY_LABELS_FOR_ASPECT.get(aspect)
        if label and (line := self._summary_line(doc_id, label)):
            parts.append(line)
        rows = self._section_rows(doc_id, SECTIONS_FOR_ASPECT[aspect])
        if rows:
            lines, cut = self._lines(rows)
            parts += ["", *lines] if len(parts) > 1 else lines
            if cut:
                parts.append(f"(Còn tiếp, xem đầy đủ trong nguồn [{self.cite(rows[0])}].)")
        if len(parts) == 1:
            return self.procedure(doc_id, "general")
        return "\n".join(parts)

    def related(
        self, doc_id: str, question: str, shown: str, limit: int = 3, found_in: str | None = None
    ) -> list[str]:
        """Sentences elsewhere in the document that match the question's own words (a personal
        situation is often answered in 'Lưu ý thường gặp'), skipping what the answer already shows.
        Sentences of ``found_in``, the section retrieval ranked first, count a little more."""
        picked = self._best_sentences(
            doc_id, question, limit + 2, figure=False, favoured=found_in, deadline=asks_deadline(question)
        )
        kept = [p for p in picked if p[0] >= RELATED_MIN_SCORE and p[4][:60] not in shown][:limit]
        return [line for _, _, row, text, sentence in kept for line in self._cited(sentence, row, text)]

    def _cited(self, sentence: str, row: int, text: str) -> list[str]:
        """A picked sentence as a cited bullet; the list items it introduces as cited sub-bullets."""
        n = self.cite(row, quote=text)
        first, *items = sentence.split("\n")
        return [f"- {first} [{n}]", *(f"  - {item} [{n}]" for item in items)]

    def _sections(self, doc_id: str) -> list[tuple[int, str]]:
        return [(row, text) for row, _, text in document_sections(self.version, doc_id)]

    def _best_sentences(
        self,
        doc_id: str,
        question: str,
        limit: int,
        figure: bool,
        favoured: str | None = None,
        deadline: bool = False,
        list_items: int = 0,
    ) -> list[tuple[float, int, int, str, str]]:
        """(score, position, first row, section text, sentence) of the best matches, in reading order.
        A sentence that introduces a list carries up to ``list_items`` of its items (report figures such
        as '168 đơn vị hành chính, gồm: 113 phường; 54 xã...'); procedure answers quote lists whole."""
        asked = canonical_words(question)
        wanted = wanted_words(asked)
        asked_pairs = {f"{a} {b}" for a, b in pairwise(asked)}
        candidates: list[tuple[int, int, str, str, list[str]]] = []
        headings: dict[int, set[str]] = {}
        for order, (row, text) in enumerate(self._sections(doc_id)):
            if self.version.metadatas[row]["section"] == SUMMARY_SECTION:
                continue  # codes and alias lists, not sentences
            headings[row] = set(folded_tokens(self.version.metadatas[row]["section"]))
            for position, sentence in enumerate(with_list_items(split_sentences(text), list_items)):
                if len(sentence) >= 15:
                    candidates.append(
                        (order * 10000 + position, row, text, sentence, canonical_words(sentence))
                    )
        # Words common across this document's sentences say little about which sentence answers.
        frequency = Counter(w for *_, words in candidates for w in set(words))
        weight = {w: math.log(1 + len(candidates) / frequency[w]) for w in wanted if frequency[w]}
        scored: list[tuple[float, int, int, str, str]] = []
        for position, row, text, sentence, words in candidates:
            # Words of the section heading ("Hồ sơ và thời hạn giải quyết") count as the sentence's own.
            present = wanted & (set(words) | headings[row])
            if not present:
                continue
            pairs = sum(1 for a, b in pairwise(words) if f"{a} {b}" in asked_pairs)
            score = sum(weight.get(w, 0.0) for w in present) + 0.5 * pairs
            score += FIGURE_BONUS if figure and re.search(r"\d", sentence) else 0.0
            score += FOUND_SECTION_BONUS if self.version.metadatas[row]["section"] == favoured else 0.0
            if deadline and _DURATION.search(sentence) and _DEADLINE_WORDS.search(sentence):
                score += DEADLINE_BONUS
            scored.append((score, position, row, text, sentence))
        if not scored:
            return []
        best = max(s[0] for s in scored)
        top = sorted(scored, key=lambda s: -s[0])[:limit]
        return sorted((s for s in top if s[0] >= 0.6 * best), key=lambda s: s[1])

    def sentences(self, doc_id: str, question: str, limit: int = 3) -> str:
        """The sentences of a document that best match the question, in reading order, each cited."""
        chosen = self._best_sentences(
            doc_id, question, limit, figure=wants_figure(question), list_items=MAX_LIST_ITEMS
        )
        if not chosen:
            return self.procedure(doc_id, "general")
        title = self.version.metadatas[chosen[0][2]]["title"]
        wanted = wanted_words(canonical_words(question))
        lines = [
            line
            for _, _, row, text, sentence in chosen
            for line in self._cited(on_topic_items(sentence, wanted), row, text)
        ]
        return "\n".join([f"**{title}**:", *lines])


_LIST_ITEM = re.compile(r"^\s*(?:[-*•+]|\d+[.)]|[a-zđ][.)])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences and list items; a line wrapped inside a paragraph is joined back first."""
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        current: list[str] = []
        for line in paragraph.splitlines():
            if _LIST_ITEM.match(line) and current:
                units.append(" ".join(current))
                current = []
            current.append(line.strip())
        if current:
            units.append(" ".join(current))
    return [s for unit in units for s in _SENTENCE_SPLIT.split(unit) if s.strip()]


def with_list_items(units: list[str], max_items: int) -> list[str]:
    """Sentences without their bullets; a sentence that ends with ':' takes up to ``max_items`` of the
    list items after it (one per line), since '... gồm:' alone answers nothing and '113 phường;' alone
    names nothing."""
    joined: list[str] = []
    introduces_list = False
    for unit in units:
        item = _LIST_ITEM.match(unit)
        if item and introduces_list and joined[-1].count("\n") < max_items:
            joined[-1] += "\n" + unit[item.end() :].strip()
            continue
        joined.append(unit.strip().lstrip("-* ").strip())
        introduces_list = joined[-1].endswith(":")
    return joined


def document_sections(version: IndexVersion, doc_id: str) -> list[tuple[int, str, str]]:
    """(first row, section name, whole text) of each section, with chunk overlaps merged back."""
    merged: list[tuple[int, str, str]] = []
    for row in version.doc_chunks(doc_id):
        section, text = version.metadatas[row]["section"], version.texts[row]
        if merged and merged[-1][1] == section:
            first, _, so_far = merged[-1]
            merged[-1] = (first, section, merge_overlap(so_far, text))
        else:
            merged.append((row, section, text))
    return merged


def merge_overlap(left: str, right: str, longest: int = 400) -> str:
    """Join two consecutive chunks, dropping the text the splitter repeated at the seam."""
    for size in range(min(longest, len(left), len(right)), 19, -1):
        if left.endswith(right[:size]):
            return left + right[size:]
    return f"{left}\n{right}"


def extractive(
    version: IndexVersion, doc_id: str, question: str, aspect: str, found_in: str | None = None
) -> Answer:
    composer = Composer(version)
    meta = version.metadatas[version.doc_chunks(doc_id)[0]]
    if meta.get("kind") == "procedure" or meta.get("code"):
        text = composer.procedure(doc_id, aspect)
        second = [a for a in detect_aspects(question) if a not in (aspect, "general")][:1]
        if not second and aspect in COMPANION_ASPECT:
            second = [COMPANION_ASPECT[aspect]]
        if second:
            text = "\n\n".join([text, composer.procedure(doc_id, second[0])])
        extra = composer.related(doc_id, question, text, found_in=found_in)
        if extra:
            text = "\n".join([text, "", "Thông tin liên quan:", *extra])
    else:
        text = composer.sentences(doc_id, question)
    return Answer(text=text, status="answered", citations=composer.citations, aspect=aspect, doc_id=doc_id)


REFUSAL_TEXT = (
    "Xin lỗi, tôi chưa tìm thấy thông tin cho câu hỏi này trong cơ sở tri thức về thủ tục hành chính "
    "của Thành phố. Bạn có thể gọi **Tổng đài 1022** hoặc liên hệ **Trung tâm Phục vụ hành chính công** "
    "gần nhất để được hướng dẫn."
)


def refusal(reason: str) -> Answer:
    return Answer(text=REFUSAL_TEXT, status="refused", flags=[reason])


def clarification(options: list[Option]) -> Answer:
    lines = ["Bạn muốn hỏi về thủ tục nào? Trả lời bằng số thứ tự:"]
    lines += [f"{o.n}. {o.title}" + (f" ({o.level})" if o.level else "") for o in options]
    return Answer(text="\n".join(lines), status="clarify", options=options)


_ORDINALS = {"mot": 1, "nhat": 1, "dau": 1, "hai": 2, "nhi": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5}


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
