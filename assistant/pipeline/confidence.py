"""How sure the assistant may be that the best candidate is the procedure asked about, and, when it is
not, whether the question is about a procedure the knowledge base lacks or about something else.

Both models read a few question-level signals and are fitted by ``eval/train_routing.py`` on the tuning
question sets. Whether to answer is a small LightGBM model (``assistant/data/models/in_scope.txt``):
the signals matter together, not one by one (a name that matches word for word means little when the
topic words are unexplained), and on the same questions it refuses more of what the knowledge base
lacks than a logistic model at the same share of false refusals. Which refusal to give is a logistic
model (``routing.json``, with the answer threshold). The first signal that matters is whether the
question's own topic words are explained by the candidate's name and text at all: "cai nghiện",
"Vietcombank" or "Grab" are not explained by any shipped guide, however well the rest matches.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np

from assistant.pipeline.procedures import FEATURES, MODELS, Candidate, NameIndex
from assistant.pipeline.question import Question
from assistant.text import folded_tokens, has_phrase

ROUTING_FILE = "routing.json"
IN_SCOPE_FILE = "in_scope.txt"
# Folded words that make a question sound like a request to a public office, whatever its topic.
_OFFICE_CUES = (
    "thu tuc",
    "dang ky",
    "giay",
    "ho so",
    "xin",
    "cap",
    "nop",
    "phuong",
    "xa",
    "ubnd",
    "chung nhan",
    "xac nhan",
    "chung thuc",
    "le phi",
    "to khai",
    "co quan",
    "cong an",
    "bhxh",
    "bhyt",
    "so",
    "the",
    "giay phep",
    "tro cap",
    "che do",
    "ho tro",
    "khieu nai",
    "de nghi",
    "cong nhan",
)
QUESTION_FEATURES = (
    "top_score",  # the ranker's score of the best candidate
    "margin",  # its lead over the runner-up
    "top_cover_name",  # share of the topic words the best candidate's name explains
    "top_cover_doc",  # share of the topic words found anywhere in the best candidate
    "top_name_dense",
    "top_dense_best",
    "top_name_topic",
    "top_title_in_question",  # share of the best candidate's title words the question uses
    "top_alias_in_question",  # the best share of one of its aliases' words the question uses
    "top_alias_pairs_in_question",  # the same for neighbouring word pairs
    "top_alias_exact",
    "unknown_words",  # share of the topic words the whole index never uses
    "unexplained_doc",  # rarity-weighted share of the topic words the best candidate never uses
    "unexplained_name",  # the same for its name (title and aliases)
    "rarest_unexplained",  # the rarity of the rarest topic word the best candidate never uses
    "rarest_unnamed",  # the rarity of the rarest topic word its name does not use
    "off_topic_margin",  # closest passage minus closest off-topic anchor (cosine)
    "topic_words",
    "office_cue",  # the question sounds like a request to an office
    "accented",
    "top_variant_extra",  # variants the best candidate's title marks that the question does not ask for
    "top_variant_unmet",  # variants the question asks for ("hủy", "cấp lại") that its title does not mark
    "top_variant_met",
)


@dataclass
class Logistic:
    """A fitted logistic model: standardise the features, then weigh them."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probability(self, features: np.ndarray) -> float:
        z = float(((features - self.mean) / self.scale) @ self.coef + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def as_dict(self) -> dict[str, object]:
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Logistic:
        return cls(
            *(np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")),
            float(data["intercept"]),
        )


class Boosted:
    """A LightGBM binary model over the same signals: P(the question is answerable)."""

    def __init__(self, model_text: str) -> None:
        import lightgbm

        self.booster = lightgbm.Booster(model_str=model_text)

    def probability(self, features: np.ndarray) -> float:
        return float(self.booster.predict(features.reshape(1, -1))[0])


@dataclass
class Confidence:
    """The shipped models: P(the question is about a procedure the knowledge base holds) with its
    answer threshold, and P(a refused question is about a procedure the knowledge base lacks rather
    than something else)."""

    in_scope: Boosted
    threshold: float
    not_in_kb: Logistic

    @classmethod
    def load(cls, folder: Traversable | Path) -> Confidence | None:
        """The models ``eval/train_routing.py`` wrote to ``folder``, or None without them."""
        routing, in_scope = folder.joinpath(ROUTING_FILE), folder.joinpath(IN_SCOPE_FILE)
        if not routing.is_file() or not in_scope.is_file():
            return None
        data = json.loads(routing.read_text(encoding="utf-8"))
        boosted = Boosted(in_scope.read_text(encoding="utf-8"))
        return cls(boosted, float(data["threshold"]), Logistic.from_dict(data["not_in_kb"]))

    @classmethod
    def shipped(cls) -> Confidence | None:
        return cls.load(resources.files("assistant").joinpath(MODELS))


def question_features(
    question: Question, candidates: list[Candidate], names: NameIndex, off_topic_margin: float
) -> np.ndarray:
    """The signals above for one question and its ranked candidates."""
    top = candidates[0].features if candidates else np.zeros(len(FEATURES), dtype=np.float32)
    at = {name: float(top[i]) for i, name in enumerate(FEATURES)}
    scores = [c.score for c in candidates[:2]] + [0.0, 0.0]
    topic = set(folded_tokens(question.topic_text))
    unknown = len(topic - names.vocabulary) / len(topic) if topic else 0.0
    best = candidates[0].doc_id if candidates else None
    doc_words = names.doc_words(best) if best else set()
    name_words = names.name_words[names.position[best]] if best else set()
    rarity = {w: names.rarity(w) for w in topic}
    weight = sum(rarity.values()) or 1.0
    text = f" {question.folded} "
    values = [
        scores[0],
        scores[0] - scores[1] if len(candidates) > 1 else 1.0,
        at["cover_name"],
        at["cover_doc"],
        at["name_dense"],
        at["dense_best"],
        at["name_topic"],
        at["title_in_question"],
        at["alias_in_question"],
        at["alias_pairs_in_question"],
        at["alias_exact"],
        unknown,
        sum(r for w, r in rarity.items() if w not in doc_words) / weight,
        sum(r for w, r in rarity.items() if w not in name_words) / weight,
        max((r for w, r in rarity.items() if w not in doc_words), default=0.0),
        max((r for w, r in rarity.items() if w not in name_words), default=0.0),
        off_topic_margin,
        float(len(topic)),
        float(has_phrase(text, _OFFICE_CUES)),
        float(question.accented),
        at["variant_extra"],
        at["variant_unmet"],
        at["variant_met"],
    ]
    return np.asarray(values, dtype=np.float64)
