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
from collections import Counter, defaultdict
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


@dataclass
class AccentModel:
    unigrams: Counter = field(default_factory=Counter)
    bigrams: Counter = field(default_factory=Counter)
    trigrams: Counter = field(default_factory=Counter)
    candidates: dict[str, list[str]] = field(default_factory=dict)
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
        (models saved before phrases were recorded have none and are rebuilt)."""
        return bool(self.phrases) and self.phrases == general_phrases()

    def updated(self, removed: Iterable[str], added: Iterable[str]) -> AccentModel:
        """The model of the next index version: the counts of the chunks it drops taken away and those
        of its new chunks added (both in ``normal_lower`` form). Counts are additive, so this equals a
        fresh build over every chunk, at the cost of the change instead of the whole index."""
        model = AccentModel(
            Counter(self.unigrams), Counter(self.bigrams), Counter(self.trigrams), phrases=self.phrases
        )
        touched = False
        for text in removed:
            for words in _sentences(text, normalized=True):
                model._count(words, -1)
                touched = True
        for text in added:
            for words in _sentences(text, normalized=True):
                model._count(words, 1)
        if touched:
            for counts in (model.unigrams, model.bigrams, model.trigrams):
                for key in [k for k, n in counts.items() if n <= 0]:
                    del counts[key]
        model._finish()
        return model

    def _count(self, words: list[str], weight: int) -> None:
        padded = [BOUNDARY, BOUNDARY, *words, BOUNDARY]
        for i in range(2, len(padded)):
            self.unigrams[padded[i]] += weight
            self.bigrams[(padded[i - 1], padded[i])] += weight
            self.trigrams[(padded[i - 2], padded[i - 1], padded[i])] += weight

    def _finish(self) -> None:
        forms: dict[str, Counter] = defaultdict(Counter)
        for word, count in self.unigrams.items():
            if word != BOUNDARY:
                forms[fold(word)][word] += count
        self.candidates = {key: [w for w, _ in c.most_common(MAX_CANDIDATES)] for key, c in forms.items()}
        for (a, _b), count in self.bigrams.items():
            self._context1[a] += count
            self._followers1[a] += 1
        for (a, b, _c), count in self.trigrams.items():
            self._context2[(a, b)] += count
            self._followers2[(a, b)] += 1
        self._total = sum(self.unigrams.values())

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
