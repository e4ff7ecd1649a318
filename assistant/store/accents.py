"""Accent restoration for questions typed without diacritics ("lam giay khai sinh" -> "làm giấy khai sinh").

A syllable trigram model learnt from the indexed corpus itself, plus a small general phrase list we
wrote (question words, pronouns, colloquial names) that procedure texts rarely contain. Decoding is
Viterbi over the accented forms seen for each folded syllable, with interpolated absolute-discount
smoothing (Kneser-Ney style backoff to lower orders).
"""

from __future__ import annotations

import math
import pickle
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.lexicon import general_phrases
from assistant.text import fold, normal_lower, normalize

_SYLLABLE = re.compile(r"(?u)\w+")
_SENTENCE_BREAK = re.compile(r"[\n.;:!?()\[\]|]+")
BOUNDARY = "<s>"
DISCOUNT = 0.75
MAX_CANDIDATES = 8
PHRASE_WEIGHT = 3  # each line of the general phrase list counts as this many corpus occurrences


def _sentences(text: str, normalized: bool = False) -> Iterable[list[str]]:
    for piece in _SENTENCE_BREAK.split(text if normalized else normal_lower(text)):
        words = _SYLLABLE.findall(piece)
        if words:
            yield words


def _shifted(counts: Counter, key: object, delta: int) -> tuple[int, int]:
    """Add ``delta`` to one count, dropping it at zero; returns the count before and after."""
    old = counts.get(key, 0)
    new = max(old + delta, 0)
    if new:
        counts[key] = new
    else:
        counts.pop(key, None)
    return old, new


def _mend(context: Counter, followers: Counter, prefix: object, old: int, new: int) -> None:
    """Keep a prefix's total count and its number of distinct followers in step with one n-gram."""
    context[prefix] += new - old
    followers[prefix] += (new > 0) - (old > 0)
    if not context[prefix]:
        del context[prefix], followers[prefix]


@dataclass
class AccentModel:
    unigrams: Counter = field(default_factory=Counter)
    bigrams: Counter = field(default_factory=Counter)
    trigrams: Counter = field(default_factory=Counter)
    candidates: dict[str, list[str]] = field(default_factory=dict)
    _spellings: dict[str, dict[str, None]] = field(default_factory=dict)  # folded -> accented, seen order
    _followers1: Counter = field(default_factory=Counter)
    _followers2: Counter = field(default_factory=Counter)
    _context1: Counter = field(default_factory=Counter)
    _context2: Counter = field(default_factory=Counter)
    _total: int = 0
    phrases: tuple[str, ...] = ()  # the general phrases counted in, so an update can tell they changed

    @classmethod
    def build(
        cls, texts: Iterable[str], phrases: Iterable[str] | None = None, normalized: bool = False
    ) -> AccentModel:
        """Counts over the texts (already in ``normal_lower`` form when ``normalized``) and the phrases."""
        model = cls(phrases=tuple(general_phrases() if phrases is None else phrases))
        for text in texts:
            for words in _sentences(text, normalized):
                model._count(words, 1)
        for phrase in model.phrases:
            for words in _sentences(phrase):
                model._count(words, PHRASE_WEIGHT)
        model._finish()
        return model

    def updatable(self) -> bool:
        """Whether ``updated`` gives what a fresh build would: the phrase list has not changed since
        (models saved before phrases were recorded have none, and those saved before spellings were
        kept have none of those: both are rebuilt)."""
        phrases_same = bool(self.phrases) and self.phrases == general_phrases()
        return phrases_same and bool(getattr(self, "_spellings", None))

    def updated(self, removed: Iterable[str], added: Iterable[str]) -> AccentModel:
        """The model of the next index version: the counts of the chunks it drops taken away and those
        of its new chunks added (both in ``normal_lower`` form). Counts are additive, so this equals a
        fresh build over every chunk; the tables derived from them are changed only where the change
        touched them, so the cost is the change's plus one copy of the tables."""
        change = AccentModel()
        for weight, texts in ((-1, removed), (1, added)):
            for text in texts:
                for words in _sentences(text, normalized=True):
                    change._count(words, weight)
        model = AccentModel(
            Counter(self.unigrams),
            Counter(self.bigrams),
            Counter(self.trigrams),
            dict(self.candidates),
            {key: dict(words) for key, words in self._spellings.items()},
            Counter(self._followers1),
            Counter(self._followers2),
            Counter(self._context1),
            Counter(self._context2),
            self._total,
            self.phrases,
        )
        model._apply(change)
        return model

    def _count(self, words: list[str], weight: int) -> None:
        padded = [BOUNDARY, BOUNDARY, *words, BOUNDARY]
        for i in range(2, len(padded)):
            self.unigrams[padded[i]] += weight
            self.bigrams[(padded[i - 1], padded[i])] += weight
            self.trigrams[(padded[i - 2], padded[i - 1], padded[i])] += weight

    def _finish(self) -> None:
        """The tables decoding reads, derived from the counts of a fresh build."""
        for word in self.unigrams:
            if word != BOUNDARY:
                self._spellings.setdefault(fold(word), {})[word] = None
        self.candidates = {key: self._top(words) for key, words in self._spellings.items()}
        for (a, _b), count in self.bigrams.items():
            self._context1[a] += count
            self._followers1[a] += 1
        for (a, b, _c), count in self.trigrams.items():
            self._context2[(a, b)] += count
            self._followers2[(a, b)] += 1
        self._total = sum(self.unigrams.values())

    def _top(self, spellings: dict[str, None]) -> list[str]:
        """The most frequent accented forms of one folded syllable (ties in the order first seen)."""
        return sorted(spellings, key=lambda w: -self.unigrams[w])[:MAX_CANDIDATES]

    def _apply(self, change: AccentModel) -> None:
        """Add a change's counts (negative for text dropped) and mend the derived tables where it
        touched them; n-grams whose count falls to zero leave."""
        touched: set[str] = set()
        for word, delta in change.unigrams.items():
            old, new = _shifted(self.unigrams, word, delta)
            self._total += new - old
            if word != BOUNDARY:
                key = fold(word)
                touched.add(key)
                if new:
                    self._spellings.setdefault(key, {})[word] = None
                else:
                    self._spellings.get(key, {}).pop(word, None)
        for key in touched:
            if self._spellings.get(key):
                self.candidates[key] = self._top(self._spellings[key])
            else:
                self._spellings.pop(key, None)
                self.candidates.pop(key, None)
        for (a, b), delta in change.bigrams.items():
            _mend(self._context1, self._followers1, a, *_shifted(self.bigrams, (a, b), delta))
        for (a, b, c), delta in change.trigrams.items():
            _mend(self._context2, self._followers2, (a, b), *_shifted(self.trigrams, (a, b, c), delta))

    def _p1(self, w: str) -> float:
        return (self.unigrams.get(w, 0) + 0.1) / (self._total + 0.1 * (len(self.unigrams) + 1))

    def _p2(self, v: str, w: str) -> float:
        context = self._context1.get(v, 0)
        if not context:
            return self._p1(w)
        seen = max(self.bigrams.get((v, w), 0) - DISCOUNT, 0.0) / context
        return seen + DISCOUNT * self._followers1[v] / context * self._p1(w)

    def _p3(self, u: str, v: str, w: str) -> float:
        context = self._context2.get((u, v), 0)
        if not context:
            return self._p2(v, w)
        seen = max(self.trigrams.get((u, v, w), 0) - DISCOUNT, 0.0) / context
        return seen + DISCOUNT * self._followers2[(u, v)] / context * self._p2(v, w)

    def _decode(self, words: list[str]) -> list[str]:
        """Viterbi over (previous, current) candidate pairs."""
        options = [self.candidates.get(fold(w), [w]) for w in words]
        # state: (u, v) -> (log prob, path)
        beam: dict[tuple[str, str], tuple[float, list[str]]] = {(BOUNDARY, BOUNDARY): (0.0, [])}
        for choices in options:
            nxt: dict[tuple[str, str], tuple[float, list[str]]] = {}
            for (u, v), (score, path) in beam.items():
                for w in choices:
                    total = score + math.log(self._p3(u, v, w))
                    if (v, w) not in nxt or total > nxt[(v, w)][0]:
                        nxt[(v, w)] = (total, [*path, w])
            beam = nxt
        best = max(
            beam.items(), key=lambda item: item[1][0] + math.log(self._p3(item[0][0], item[0][1], BOUNDARY))
        )
        return best[1][1]

    def restore(self, text: str) -> str:
        """Return the text with diacritics put back on each syllable; other characters are kept."""
        text = normalize(text)
        matches = list(_SYLLABLE.finditer(text))
        if not matches:
            return text
        restored = self._decode([m.group(0).lower() for m in matches])
        out, last = [], 0
        for match, word in zip(matches, restored, strict=True):
            original = match.group(0)
            if fold(word) != fold(original).lower():
                word = original
            elif original.isupper() and len(original) > 1:
                word = word.upper()
            elif original[0].isupper():
                word = word[0].upper() + word[1:]
            out.append(text[last : match.start()])
            out.append(word)
            last = match.end()
        out.append(text[last:])
        return "".join(out)

    def save(self, path: Path) -> None:
        path.write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def load(path: Path) -> AccentModel:
        # The file is written by this project's own ingest into its own index directory.
        return pickle.loads(path.read_bytes())
