"""The word lists the pipeline reads, loaded once from ``assistant/data`` (each file says what it is for)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from assistant.text import fold

_WORD = re.compile(r"\w+")


def data_lines(name: str) -> list[str]:
    """The non-empty, non-comment lines of a shipped data file."""
    text = resources.files("assistant").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _groups(name: str) -> dict[str, tuple[str, ...]]:
    """The lines of a data file whose '[group]' lines open groups, by group, in file order."""
    groups: dict[str, list[str]] = {}
    current = ""
    for line in data_lines(name):
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            groups[current] = []
        else:
            groups[current].append(line)
    return {group: tuple(lines) for group, lines in groups.items()}


@cache
def aspect_cues() -> dict[str, tuple[str, ...]]:
    """Aspect -> folded cue phrases, in the order the aspects are checked."""
    return _groups("aspect_cues.txt")


@cache
def stopwords() -> frozenset[str]:
    return frozenset(data_lines("stopwords.txt"))


@cache
def fillers() -> frozenset[str]:
    return frozenset(data_lines("fillers.txt"))


@cache
def places() -> dict[str, tuple[str, ...]]:
    """'abroad' and 'vietnam' -> folded phrases naming a place or a nationality: never what a question
    is about; one abroad also asks for the foreign-element variant."""
    return _groups("places.txt")


@cache
def synonyms() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(p.strip() for p in line.split("|")) for line in data_lines("synonyms.txt"))


@cache
def abbreviations() -> dict[str, str]:
    """Folded short form -> the words it stands for."""
    pairs = (line.split(":", 1) for line in data_lines("abbreviations.txt"))
    return {short.strip(): words.strip() for short, words in pairs}


def spell_out(text: str) -> str:
    """The text with each known short form replaced by its words: 'đăng ký hkd' -> 'đăng ký hộ kinh doanh'.
    Documents write short forms too, so lexical search matches them as typed; the embedder does not
    know them, so the dense query reads the words they stand for."""
    known = abbreviations()
    return _WORD.sub(lambda m: known.get(fold(m.group(0)).lower(), m.group(0)), text)


@cache
def off_topic_anchors() -> tuple[str, ...]:
    return tuple(data_lines("off_topic.txt"))


@cache
def general_phrases() -> tuple[str, ...]:
    return tuple(data_lines("vi_phrases.txt"))


@cache
def _variant_blocks() -> dict[str, dict[str, tuple[str, ...]]]:
    """Variant -> its 'key: a | b' lines (variants.txt)."""
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    current = ""
    for line in data_lines("variants.txt"):
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            found[current] = {}
        else:
            key, _, phrases = line.partition(":")
            found[current][key.strip()] = tuple(p.strip() for p in phrases.split("|") if p.strip())
    return found


@cache
def variants() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Variant -> (folded title markers, folded question cues): the variants the ranker and the
    answer-or-refuse model weigh."""
    return {
        name: (parts.get("title", ()), parts.get("question", ()))
        for name, parts in _variant_blocks().items()
        if not parts.get("refuse")
    }


@cache
def refused_variants() -> dict[str, tuple[tuple[str, ...], tuple[str, ...], str]]:
    """Variant -> (title markers, question cues, refusal): the variants no guide is written for unless
    its title marks them, refused ('not_in_knowledge_base' or 'off_topic') rather than weighed."""
    found = {}
    for name, parts in _variant_blocks().items():
        if not parts.get("refuse"):
            continue
        if parts["refuse"] not in (("not_in_knowledge_base",), ("off_topic",)):
            raise ValueError(f"variants.txt [{name}]: refuse must be not_in_knowledge_base or off_topic")
        found[name] = (parts.get("title", ()), parts.get("question", ()), parts["refuse"][0])
    return found


@cache
def thesaurus() -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(folded official phrase, the everyday words for it, folded phrase that rules a title out) triples."""
    entries = []
    for line in data_lines("thesaurus.txt"):
        words, _, official = line.partition("=>")
        official, _, unless = official.partition("!")
        everyday = tuple(w.strip() for w in words.split("|") if w.strip())
        entries.append((_folded_phrase(official), everyday, _folded_phrase(unless)))
    return tuple(entries)


def _folded_phrase(text: str) -> str:
    return " ".join(_WORD.findall(fold(text).lower()))


def everyday_names(title: str) -> list[str]:
    """The everyday words the thesaurus gives for the official phrases a title contains."""
    folded = f" {_folded_phrase(title)} "
    return [
        word
        for official, everyday, unless in thesaurus()
        if f" {official} " in folded and not (unless and f" {unless} " in folded)
        for word in everyday
    ]
