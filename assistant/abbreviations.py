"""Short forms ("hkd", "ĐKKH", "CCCD") spelled out for the embedder.

Documents write the short forms too (in aliases and text), so lexical search matches them as typed;
multilingual-e5 does not know them, so the dense query reads the words they stand for.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from assistant.text import fold

_WORD = re.compile(r"\w+")


@cache
def abbreviations() -> dict[str, str]:
    """Folded short form -> the words it stands for, from the shipped list."""
    text = resources.files("assistant").joinpath("data/abbreviations.txt").read_text(encoding="utf-8")
    pairs = (line.split(":", 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {short.strip(): words.strip() for short, words in pairs}


def spell_out(text: str) -> str:
    """The text with each known short form replaced by its words: 'đăng ký hkd' -> 'đăng ký hộ kinh doanh'."""
    known = abbreviations()
    return _WORD.sub(lambda m: known.get(fold(m.group(0)).lower(), m.group(0)), text)
