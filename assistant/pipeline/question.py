"""Understanding a question, once per ask: its normal and folded forms, the accent-restored text the
embedder reads, what it asks about (aspects), the words that name its topic, and a few flags. Every
later stage reads the ``Question``; none works these out again."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from assistant.lexicon import aspect_cues, fillers, places, spell_out, stopwords, synonyms
from assistant.text import fold, folded_tokens, has_diacritics, has_phrase, without_phrases

_WORD = re.compile(r"(?u)\w+")

Aspect = Literal[
    "documents", "fee", "time", "steps", "where", "result", "eligibility", "online", "legal_basis", "general"
]
_FIGURE_CUES = ("bao nhieu", "ti le", "ty le", "phan tram", "so luong", "con so")
# "mấy" asks for a count, but not in "thứ mấy", "mấy giờ", "ngày mấy" (which day, what time); folded, it
# also reads as "máy" ("xe máy", "máy bay"), so unaccented text drops those phrases first.
_HOW_MANY = re.compile(r"(?u)(?<!\w)mấy(?!\w)")
_NOT_A_COUNT = ("thu may", "may gio", "ngay may", "hom may", "xe may", "may bay", "may tinh", "may moc")
# A citizen's own deadline ("hạn chót", "khi nào phải") is not the office's processing time.
_DEADLINE_ASKED = ("han chot", "cham nhat", "phai", "toi da", "qua han", "tre han", "het han")


@dataclass(frozen=True)
class Question:
    text: str  # NFC, one tone-mark style, stripped
    accented: bool  # typed with diacritics
    words: tuple[str, ...]  # folded lower-case tokens
    dense_text: str  # what the embedder reads: restored accents, short forms spelled out
    aspects: tuple[str, ...]  # every aspect asked, in the order asked ("general" if none)
    aspect: str  # the main aspect
    topic: tuple[str, ...]  # folded words left after aspect cues and stopwords
    topic_text: str  # the same words as typed (accents restored), in order: what the question is about
    canonical: tuple[str, ...]  # folded words with synonym phrases unified
    wants_figure: bool  # "bao nhiêu", "tỉ lệ": answered by a sentence with a number
    asks_deadline: bool  # a time question about the citizen's own deadline

    @property
    def folded(self) -> str:
        return " ".join(self.words)


def understand(text: str, restore: Callable[[str], str]) -> Question:
    """The Question for an already-normalised text; ``restore`` puts accents back on unaccented text."""
    accented = has_diacritics(text)
    words = tuple(folded_tokens(text))
    aspects = detect_aspects(words)
    readable = text if accented else restore(text)
    return Question(
        text=text,
        accented=accented,
        words=words,
        dense_text=spell_out(readable),
        aspects=aspects,
        aspect=main_aspect(aspects),
        topic=topic_words(words),
        topic_text=topic_phrase(readable),
        canonical=tuple(canonical_words(text)),
        wants_figure=wants_figure(text, words, accented),
        asks_deadline="time" in aspects and has_phrase(f" {' '.join(words)} ", _DEADLINE_ASKED),
    )


def wants_figure(text: str, words: tuple[str, ...], accented: bool) -> bool:
    """Whether the question asks for a number ("bao nhiêu", "tỉ lệ", "mấy xã"), answered by a sentence
    that has one."""
    joined = without_phrases(f" {' '.join(words)} ", _NOT_A_COUNT)
    if has_phrase(joined, _FIGURE_CUES):
        return True
    # Left over, "may" asks how many when unaccented; typed with accents it must be "mấy".
    return " may " in joined and (not accented or bool(_HOW_MANY.search(text.lower())))


def detect_aspects(words: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Every aspect the words ask about, in the order they ask them."""
    text = f" {' '.join(words)} "
    found: dict[str, int] = {}
    for aspect, cues in aspect_cues().items():
        positions = [text.find(f" {cue} ") for cue in cues if f" {cue} " in text]
        if positions:
            found[aspect] = min(positions)
    return tuple(sorted(found, key=found.get)) or ("general",)


def main_aspect(aspects: tuple[str, ...]) -> str:
    """The aspect the order of the cue groups ranks highest among those asked."""
    return next((a for a in aspect_cues() if a in aspects), "general")


def topic_words(words: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Folded words that name a topic: what is left after cue phrases and stopwords are removed."""
    text = without_phrases(f" {' '.join(words)} ", not_topic_phrases())
    return tuple(w for w in text.split() if w not in stopwords() and not w.isdigit())


def not_topic_phrases() -> tuple[str, ...]:
    """Folded phrases that never name a topic: aspect cues ("cần giấy gì"), places and nationalities."""
    groups = (*aspect_cues().values(), *places().values())
    return tuple(phrase for phrases in groups for phrase in phrases)


def topic_phrase(text: str) -> str:
    """The words of ``text`` that name its topic, as written: 'con tôi nghiện ma túy, muốn đăng ký cai
    nghiện thì nộp ở đâu' -> 'nghiện ma túy muốn đăng ký cai nghiện'."""
    words = _WORD.findall(text)
    folded = [fold(w).lower() for w in words]
    keep = [w.lower() not in fillers() and not w.isdigit() for w in words]
    joined = f" {' '.join(folded)} "
    for cue in not_topic_phrases():
        start = joined.find(f" {cue} ")
        while start >= 0:
            first = joined[: start + 1].count(" ") - 1
            for i in range(first, first + cue.count(" ") + 1):
                keep[i] = False
            start = joined.find(f" {cue} ", start + 1)
    return " ".join(w for w, k in zip(words, keep, strict=True) if k)


def canonical_words(text: str) -> list[str]:
    """Folded words with every synonym phrase replaced by the first phrase of its group."""
    joined = f" {' '.join(folded_tokens(text))} "
    for first, *others in synonyms():
        for phrase in others:
            joined = joined.replace(f" {phrase} ", f" {first} ")
    return joined.split()


def wanted_words(asked: tuple[str, ...] | list[str]) -> set[str]:
    """Of the canonical words, those that can tell one sentence from another (all if none is left)."""
    return {w for w in asked if w not in stopwords() and not w.isdigit()} or set(asked)
