"""Vietnamese text handling: Unicode and tone-mark normalisation, diacritic folding, tokenising."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# Combining tone marks: grave, acute, tilde, hook above, dot below.
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
MAX_SYLLABLE = 12  # the longest Vietnamese syllable ("nghiêng") has 7 letters
_PLAIN_VOWELS = set("aeiouy")
_MODIFIED_VOWELS = set("ăâêôơư")
_VOWELS = _PLAIN_VOWELS | _MODIFIED_VOWELS
# Word runs; ``\w+`` matches in linear time. An earlier pattern for "words with a letter outside
# ASCII" (``\w*[^\W\x00-\x7f]\w*``) backtracked quadratically on long letter runs: a 40 KB question
# blocked the server for seconds before its length was even checked.
_TOKEN = re.compile(r"(?u)\w+")
PORTAL_CODE = re.compile(r"\b\d\.\d{6}\b")  # a national procedure code, as staff type it: 1.001193


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Drop every diacritic and map đ/Đ to d/D: 'Đăng ký' -> 'Dang ky'."""
    return _fold_word(text) if len(text) <= 12 else _fold(text)


@lru_cache(maxsize=1 << 16)
def _fold_word(text: str) -> str:
    """Words repeat endlessly across an index: remember each one's folded form."""
    return _fold(text)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


def is_encodable(text: str) -> bool:
    """False for text that no UTF-8 store or model can take, such as a lone surrogate ('\\ud800')."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic (so the user typed accents)."""
    return fold(text) != nfc(text)


def _split_tone(syllable: str) -> tuple[str, str]:
    """Return (syllable without its tone mark, the tone mark or '')."""
    tone = ""
    kept = []
    for ch in unicodedata.normalize("NFD", syllable):
        if ch in _TONE_MARKS:
            tone = ch
        else:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)), tone


def _tone_position(base: str) -> int | None:
    """Index of the vowel that carries the tone, in the style 'hòa', 'thủy', 'hoàng', 'quý', 'gì'."""
    low = base.lower()
    start = 0
    if (low.startswith("qu") and len(low) > 2 and low[2] in _VOWELS) or (
        low.startswith("gi") and len(low) > 2 and low[2] in _VOWELS
    ):
        start = 2
    while start < len(low) and low[start] not in _VOWELS:
        start += 1
    end = start
    while end < len(low) and low[end] in _VOWELS:
        end += 1
    if start == end:
        return None
    nucleus = low[start:end]
    modified = [i for i, ch in enumerate(nucleus) if ch in _MODIFIED_VOWELS]
    if modified:
        return start + modified[-1]
    if len(nucleus) == 1:
        return start
    if end < len(low):  # closed syllable: tone on the last vowel (hoàng, toán)
        return start + len(nucleus) - 1
    if len(nucleus) == 3:  # oai, oay, uya...: the middle vowel
        return start + 1
    return start  # open two-vowel syllable: hòa, thủy, mía, của


@lru_cache(maxsize=1 << 16)
def _unify_word(word: str) -> str:
    """One word with its tone mark moved to the standard vowel (cached: syllables repeat)."""
    base, tone = _split_tone(word)
    if not tone:
        return word
    pos = _tone_position(base)
    if pos is None:
        return word
    marked = unicodedata.normalize("NFD", base[pos]) + tone
    return base[:pos] + unicodedata.normalize("NFC", marked) + base[pos + 1 :]


def unify_tone_marks(text: str) -> str:
    """Put every syllable's tone mark in one place, so 'hoà' and 'hòa' become the same string."""
    return _TOKEN.sub(_unify_match, text)


def _unify_match(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.isascii() or len(word) > MAX_SYLLABLE:
        return word  # no tone mark to move; a run longer than any syllable is not a word to cache
    return _unify_word(word)


def normalize(text: str) -> str:
    """The form every text takes at the edges (ingest and query): NFC with one tone-mark style."""
    return unify_tone_marks(nfc(text))


def normal_lower(text: str) -> str:
    """The normalised, lower-cased form tokens are read from."""
    return normalize(text).lower()


def words(normal_lower_text: str) -> list[str]:
    """The tokens of text already in ``normal_lower`` form (normalising is the costly part)."""
    return _TOKEN.findall(normal_lower_text)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, one-letter syllables ('ở', 'y') included."""
    return words(normal_lower(text))


def has_phrase(text: str, phrases: Iterable[str]) -> bool:
    """Whether a padded folded text (" ... ") holds one of the folded phrases as whole words."""
    return any(f" {p} " in text for p in phrases)


def without_phrases(text: str, phrases: Iterable[str]) -> str:
    """A padded folded text with every whole-word occurrence of these folded phrases taken out (in
    order, so a longer phrase listed first goes before a shorter one inside it)."""
    for phrase in phrases:
        text = text.replace(f" {phrase} ", " ")
    return text


def folded_tokens(text: str) -> list[str]:
    return [fold(t) for t in tokens(text)]


def folded_words(normal_text: str) -> list[str]:
    """``folded_tokens`` of text already in ``normalize`` form, as every stored chunk text is (ingest
    normalises each body): skips the normalising, which is two thirds of the cost."""
    return [fold(t) for t in words(normal_text.lower())]
