"""Documents as passages a person reads: sections with chunk overlaps merged back, sentences and list
items, and lists cut to the items a question is about."""

from __future__ import annotations

import re

from assistant.pipeline.question import canonical_words
from assistant.store.snapshot import Snapshot

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[A-ZĐÀ-Ỹ0-9\"“(-])|\n+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•+]|\d+[.)]|[a-zđ][.)])\s+")
SHORT_LIST_ITEM = 40  # characters; shorter items are parts of one figure rather than statements


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


def document_sections(snapshot: Snapshot, doc_id: str) -> list[tuple[int, str, str]]:
    """(first row, section name, whole text) of each section, with chunk overlaps merged back."""
    merged: list[tuple[int, str, str]] = []
    for row in snapshot.doc_chunks(doc_id):
        section, text = snapshot.metadatas[row]["section"], snapshot.texts[row]
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
