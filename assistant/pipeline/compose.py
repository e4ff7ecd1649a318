"""Extractive answers: every line shown is a line or sentence of a cited passage, never rewritten.

For a procedure the composer takes the section that answers the question's aspect (fee, time,
documents...) with the short facts of its card, then sentences elsewhere in the guide that match the
question's own words; for a report, the best-matching sentences. Every passage quoted is numbered.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise

from assistant.ingest.loaders import SUMMARY_SECTION
from assistant.pipeline.answers import MARKER, Answer, Citation, Option
from assistant.pipeline.passages import document_sections, on_topic_items, split_sentences, with_list_items
from assistant.pipeline.question import Question, canonical_words, wanted_words
from assistant.store.snapshot import Snapshot
from assistant.text import fold, folded_tokens

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
MAX_LINES = 18
# How much of a guide's portal record is quoted under the guide's own answer.
OFFICIAL_LINES = 8
OFFICIAL_CHARS = 1200
NEW_WORDS_SHARE = 0.4  # a record line is quoted when this share of its words is not shown already
MAX_CHARS = 2000
# A list of documents is the answer itself: a citizen who gets part of it comes back twice. A portal
# record's list runs long (one line per paper and per case), so it may take more room than other aspects.
DOCUMENT_LINES = 30
DOCUMENT_CHARS = 3500
RELATED_MIN_SCORE = 2.0  # topic words a sentence must share to be added as related detail
FOUND_SECTION_BONUS = 1.0
MAX_LIST_ITEMS = 4  # list items kept under a picked sentence that introduces a list
# "Làm sao / cần làm gì" and "có được không" also mean "what must I bring": such answers add the
# documents list when the question names no second aspect itself.
COMPANION_ASPECT = {"steps": "documents", "eligibility": "documents"}
# A citizen's own deadline sits in sentences such as "trong thời hạn 10 ngày" or "chậm nhất 60 ngày".
_DEADLINE_WORDS = re.compile(r"chậm nhất|trong thời hạn|trong vòng|kể từ|trước|sau", re.IGNORECASE)
_DURATION = re.compile(r"\d+\s*(ngày|tháng)", re.IGNORECASE)
DEADLINE_BONUS = 4.0
# "Bao nhiêu / tỉ lệ" is answered by a sentence with a number; one without a number rarely is.
FIGURE_BONUS = 3.0
MAX_RELATED = 4
# A portal record has no section of its own for some aspects: its deadlines and where each step is
# filed are written into "Trình tự thực hiện" ("Trong thời hạn 03 ngày làm việc, ...", "nộp hồ sơ tại
# Phòng Cảnh sát PCCC ..."). Such a record's answer adds the step sentences that say them.
STEP_DETAIL: dict[str, re.Pattern[str]] = {
    "time": re.compile(r"\d+\s*(ngày|tháng|giờ)", re.IGNORECASE),
    "where": re.compile(r"\b(nộp|gửi)\b.{0,60}\b(tại|đến|cho|về|lên)\b", re.IGNORECASE),
}
STEP_DETAIL_LINES = 4
STEPS_HEADING = "Theo các bước thực hiện:"


class Composer:
    """Builds the text and citations of one extractive answer from one index version."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.citations: list[Citation] = []
        self._number: dict[int, int] = {}

    def cite(self, row: int, quote: str | None = None) -> int:
        """The citation number of a passage; a whole-section quote replaces the chunk it contains."""
        if row in self._number:
            cited = self.citations[self._number[row] - 1]
            if quote and len(quote) > len(cited.quote) and cited.quote in quote:
                cited.quote = quote
        if row not in self._number:
            meta = self.snapshot.metadatas[row]
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
                    quote=quote if quote is not None else self.snapshot.texts[row],
                    chunk_id=self.snapshot.ids[row],
                )
            )
        return self._number[row]

    def _section_rows(self, doc_id: str, prefixes: tuple[str, ...]) -> list[int]:
        rows = self.snapshot.doc_chunks(doc_id)
        for prefix in prefixes:
            found = [
                r for r in rows if fold(self.snapshot.metadatas[r]["section"]).lower().startswith(prefix)
            ]
            if found:
                return found
        return []

    def _lines(
        self, rows: list[int], limit: int = MAX_LINES, chars: int = MAX_CHARS, known: set[str] | None = None
    ) -> tuple[list[str], bool]:
        """Distinct lines of the rows (chunks overlap), each ending with its citation marker; with
        ``known`` (folded words already shown), only lines that mostly say something new, and no
        headings."""
        out: list[str] = []
        seen: set[str] = set()
        size = 0
        for row in rows:
            for line in self.snapshot.texts[row].splitlines():
                key = line.strip()
                if not key or key in seen:
                    continue
                if known is not None and (key.endswith(":") or not _mostly_new(key, known)):
                    continue  # a list's heading, or what the answer already says
                if len(out) >= limit or size + len(key) > chars:
                    return out, True
                seen.add(key)
                size += len(key)
                out.append(f"{line.rstrip()} [{self.cite(row)}]")
        return out, False

    def _continued(self, row: int) -> str:
        """The line that closes a quotation cut short, pointing to the whole passage."""
        return f"(Còn tiếp, xem đầy đủ trong nguồn [{self.cite(row)}].)"

    def _summary_line(self, doc_id: str, label: str) -> str | None:
        for row in self._section_rows(doc_id, (fold(SUMMARY_SECTION).lower(),)):
            for line in self.snapshot.texts[row].splitlines():
                if fold(line).lower().lstrip("- ").startswith(label):
                    return f"{line.strip()} [{self.cite(row)}]"
        return None

    def procedure(self, doc_id: str, aspect: str) -> str:
        title = self.snapshot.metadatas[self.snapshot.doc_chunks(doc_id)[0]]["title"]
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
                lines, _ = self._lines(self.snapshot.doc_chunks(doc_id)[:1])
                parts += lines
            return "\n".join(parts)
        label = SUMMARY_LABELS_FOR_ASPECT.get(aspect)
        if label and (line := self._summary_line(doc_id, label)):
            parts.append(line)
        rows = self._section_rows(doc_id, SECTIONS_FOR_ASPECT[aspect])
        if rows:
            room = (DOCUMENT_LINES, DOCUMENT_CHARS) if aspect == "documents" else (MAX_LINES, MAX_CHARS)
            lines, cut = self._lines(rows, *room)
            parts += ["", *lines] if len(parts) > 1 else lines
            if cut:
                parts.append(self._continued(rows[0]))
        if len(parts) == 1:
            return self.procedure(doc_id, "general")
        details = self._step_details(doc_id, aspect, "\n".join(parts))
        return "\n".join([*parts, "", STEPS_HEADING, *details] if details else parts)

    def _step_details(self, doc_id: str, aspect: str, shown: str) -> list[str]:
        """For a record with no section of the aspect's own: the sentences of its steps that state it
        (STEP_DETAIL) and that the answer ``shown`` does not say already."""
        pattern = STEP_DETAIL.get(aspect)
        if not pattern or self._section_rows(doc_id, SECTIONS_FOR_ASPECT[aspect][:1]):
            return []
        steps = set(self._section_rows(doc_id, SECTIONS_FOR_ASPECT["steps"]))
        picked = [
            (row, text, sentence)
            for row, _, text in document_sections(self.snapshot, doc_id)
            if row in steps
            for sentence in with_list_items(split_sentences(text), 0)
            if pattern.search(sentence) and sentence[:60] not in shown
        ][:STEP_DETAIL_LINES]
        return [line for row, text, sentence in picked for line in self._cited(sentence, row, text)]

    def official(self, doc_id: str, aspect: str, shown: str) -> str:
        """For a guide whose portal record is indexed too: the record's own lines on the asked aspect
        that say more than the answer ``shown`` already does (a guide tells the usual case in plain
        words; the record holds every deadline, document and exception the portal lists). Without
        such lines, a line citing the record."""
        parts = []
        known = set(folded_tokens(shown))
        for record in self.snapshot.records_of.get(doc_id, []):
            code = self.snapshot.doc_meta(record).get("code", "")
            rows = self._section_rows(record, SECTIONS_FOR_ASPECT.get(aspect, ()))
            lines, cut = self._lines(rows, limit=OFFICIAL_LINES, chars=OFFICIAL_CHARS, known=known)
            if cut:
                lines.append(self._continued(rows[0]))
            if details := self._step_details(record, aspect, "\n".join([shown, *lines])):
                lines += [STEPS_HEADING, *details]
            if lines:
                # A guide's second record (the same procedure at another level) repeats most of them.
                known.update(w for line in lines for w in folded_tokens(MARKER.sub("", line)))
                parts += [f"Theo văn bản gốc trên Cổng Dịch vụ công (mã {code}):", *lines]
            else:
                first = (rows or self.snapshot.doc_chunks(record))[0]
                parts.append(f"(Văn bản gốc trên Cổng Dịch vụ công, mã {code}: [{self.cite(first)}])")
        return "\n".join(parts)

    def related(
        self, doc_id: str, question: Question, shown: str, limit: int = 3, found_in: str | None = None
    ) -> list[str]:
        """Sentences elsewhere in the document that match the question's own words (a personal
        situation is often answered in 'Lưu ý thường gặp'), skipping what the answer already shows.
        Sentences of ``found_in``, the section retrieval ranked first, count a little more."""
        picked = self._best_sentences(
            doc_id, question, limit + 2, figure=False, favoured=found_in, deadline=question.asks_deadline
        )
        kept = [p for p in picked if p[0] >= RELATED_MIN_SCORE and p[4][:60] not in shown][:limit]
        return [line for _, _, row, text, sentence in kept for line in self._cited(sentence, row, text)]

    def _cited(self, sentence: str, row: int, text: str) -> list[str]:
        """A picked sentence as a cited bullet; the list items it introduces as cited sub-bullets."""
        n = self.cite(row, quote=text)
        first, *items = sentence.split("\n")
        return [f"- {first} [{n}]", *(f"  - {item} [{n}]" for item in items)]

    def _sections(self, doc_id: str) -> list[tuple[int, str]]:
        return [(row, text) for row, _, text in document_sections(self.snapshot, doc_id)]

    def _best_sentences(
        self,
        doc_id: str,
        question: Question,
        limit: int,
        figure: bool,
        favoured: str | None = None,
        deadline: bool = False,
        list_items: int = 0,
    ) -> list[tuple[float, int, int, str, str]]:
        """(score, position, first row, section text, sentence) of the best matches, in reading order.
        A sentence that introduces a list carries up to ``list_items`` of its items (report figures such
        as '168 đơn vị hành chính, gồm: 113 phường; 54 xã...'); procedure answers quote lists whole."""
        asked = list(question.canonical)
        wanted = wanted_words(asked)
        asked_pairs = {f"{a} {b}" for a, b in pairwise(asked)}
        candidates: list[tuple[int, int, str, str, list[str]]] = []
        headings: dict[int, set[str]] = {}
        for order, (row, text) in enumerate(self._sections(doc_id)):
            if self.snapshot.metadatas[row]["section"] == SUMMARY_SECTION:
                continue  # codes and alias lists, not sentences
            headings[row] = set(folded_tokens(self.snapshot.metadatas[row]["section"]))
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
            score += FOUND_SECTION_BONUS if self.snapshot.metadatas[row]["section"] == favoured else 0.0
            if deadline and _DURATION.search(sentence) and _DEADLINE_WORDS.search(sentence):
                score += DEADLINE_BONUS
            scored.append((score, position, row, text, sentence))
        if not scored:
            return []
        best = max(s[0] for s in scored)
        top = sorted(scored, key=lambda s: -s[0])[:limit]
        return sorted((s for s in top if s[0] >= 0.6 * best), key=lambda s: s[1])

    def sentences(self, doc_id: str, question: Question, limit: int = 3) -> str:
        """The sentences of a document that best match the question, in reading order, each cited."""
        chosen = self._best_sentences(
            doc_id, question, limit, figure=question.wants_figure, list_items=MAX_LIST_ITEMS
        )
        if not chosen:
            return self.procedure(doc_id, "general")
        title = self.snapshot.metadatas[chosen[0][2]]["title"]
        wanted = wanted_words(question.canonical)
        lines = [
            line
            for _, _, row, text, sentence in chosen
            for line in self._cited(on_topic_items(sentence, wanted), row, text)
        ]
        return "\n".join([f"**{title}**:", *lines])


def extractive(snapshot: Snapshot, doc_id: str, question: Question, found_in: str | None = None) -> Answer:
    """The answer to ``question`` from one document."""
    composer = Composer(snapshot)
    aspect = question.aspect
    meta = snapshot.doc_meta(doc_id)
    if meta.get("kind") == "procedure" or meta.get("code"):
        text = composer.procedure(doc_id, aspect)
        second = [a for a in question.aspects if a not in (aspect, "general")][:1]
        if not second and aspect in COMPANION_ASPECT:
            second = [COMPANION_ASPECT[aspect]]
        if second:
            text = "\n\n".join([text, composer.procedure(doc_id, second[0])])
        extra = composer.related(doc_id, question, text, found_in=found_in)
        if extra:
            text = "\n".join([text, "", "Thông tin liên quan:", *extra])
        official = composer.official(doc_id, aspect, text)
        if official:
            text = "\n".join([text, "", official])
    else:
        text = composer.sentences(doc_id, question)
    answer = Answer(text=text, status="answered", citations=composer.citations, aspect=aspect, doc_id=doc_id)
    answer.related = related_procedures(snapshot, doc_id, text)
    return answer


def _mostly_new(line: str, known: set[str]) -> bool:
    """Whether the line says something ``known`` (folded words) does not: a figure (a fee, a number of
    days) not shown yet, or at least NEW_WORDS_SHARE of its words."""
    words = set(folded_tokens(line))
    new = words - known
    return any(w.isdigit() for w in new) or (bool(words) and len(new) >= NEW_WORDS_SHARE * len(words))


def related_procedures(snapshot: Snapshot, doc_id: str, text: str) -> list[Option]:
    """The same procedure at another level of government, then other procedures the quoted text names
    by their title ("xem thủ tục Đính chính ..."): the chat offers them as one click, which asks about
    that procedure."""
    folded = f" {' '.join(folded_tokens(text))} "
    named = list(snapshot.level_twins.get(doc_id, []))
    for other, title in snapshot.procedure_titles.items():
        if other != doc_id and other not in named and len(title.split()) >= 3 and f" {title} " in folded:
            named.append(other)
    options = []
    for n, other in enumerate(named[:MAX_RELATED], 1):
        meta = snapshot.doc_meta(other)
        options.append(Option(n=n, doc_id=other, title=meta["title"], level=meta.get("level", "")))
    return options
