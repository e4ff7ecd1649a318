"""Which procedure a question is about: candidate documents scored by a learned ranker.

Chunk fusion finds passages; but aspect words ("mất bao lâu", "cần giấy gì") match the matching section
of every guide, so a sibling's tiny "Thời hạn" section could win. Here each candidate document is
described by how the question matches its *name* (title and aliases: words and meaning), its
passages, and its variant markers (a title that says "cấp lại" or "có yếu tố nước ngoài" when the
question asks for neither), and a LightGBM LambdaRank model trained by ``eval/train_routing.py``
orders them. Without a model file the fused order is kept.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from itertools import pairwise

import numpy as np

from assistant.ingest.chunking import name_text
from assistant.ingest.loaders import ALIAS_SEPARATOR
from assistant.lexicon import places, stopwords, variants
from assistant.pipeline.question import Question
from assistant.pipeline.rankers import query_terms
from assistant.store.snapshot import BRACKETED, Snapshot, with_bigrams
from assistant.text import fold, folded_tokens, has_phrase, without_phrases

MODELS = "data/models"  # in the package: this ranker and the confidence models (confidence.py)
RANKER_FILE = "procedure_ranker.txt"
NAME_CANDIDATES = 10  # documents each name ranking adds to the fused ones
ABSENT_RANK = 40.0
FEATURES = (
    "fused",  # best fused score of the document's chunks (fusion scale)
    "fused_rank",  # the document's place in the fused order
    "topic_fused",  # the same for the question's topic words alone (aspect words left out)
    "topic_rank",
    "dense_best",  # best cosine of the question to one of the document's chunks
    "lexical_best",  # best BM25 score of one of its chunks, relative to the best of all
    "name_dense",  # cosine of the question to the document's name (title and aliases)
    "name_dense_rank",
    "name_topic",  # BM25 of the question's topic words (aspect words left out) on names, relative
    "name_all",  # BM25 of all the question's words on names, relative
    "title_in_question",  # share of the title's own words the question uses
    "alias_in_question",  # the best share of one alias's words the question uses
    "alias_pairs_in_question",  # the same for neighbouring word pairs: "nuôi con nuôi" is not "nuôi con bò"
    "alias_exact",  # an alias (or the title) stands word for word in the question
    "dense_rank",  # the document's place in the dense ranking of chunks
    "lexical_rank",  # and in the BM25 ranking
    "cover_name",  # share of the topic words found in the name
    "cover_doc",  # share of the topic words found anywhere in the document
    "topic_words",
    "variant_extra",  # variants the title marks that the question does not ask for
    "variant_unmet",  # variants the question asks for that the title does not mark
    "variant_met",
    "title_words",
    "is_report",
    "accented",
)


@dataclass
class Candidate:
    doc_id: str
    row: int  # the chunk that stands for the document (its best fused chunk, else its best match)
    features: np.ndarray
    score: float = 0.0  # the ranker's score (higher is better); the fused score without a model


LEADING_THU_TUC = re.compile(r"^\s*thủ tục\s+", re.IGNORECASE)  # how records' titles start, not guides'


@dataclass
class NameIndex:
    """What the ranker reads of every document of one snapshot, worked out once per snapshot."""

    snapshot: Snapshot
    position: dict[str, int] = field(init=False)
    name_words: list[set[str]] = field(init=False)
    title_words: list[set[str]] = field(init=False)
    aliases: list[list[str]] = field(init=False)  # folded title and aliases, as phrases
    alias_pairs: list[list[set[str]]] = field(init=False)  # the same, as neighbouring word pairs
    markers: list[set[str]] = field(init=False)
    title_lengths: list[int] = field(init=False)
    titles: list[str] = field(init=False)  # folded, with a space on each side
    core_lengths: list[int] = field(init=False)  # words of the title outside brackets
    core_words: list[frozenset[str]] = field(init=False)  # the same, without a record's leading "Thủ tục"
    core_pairs: list[frozenset[str]] = field(init=False)  # the same words' neighbouring pairs

    def __post_init__(self) -> None:
        docs = self.snapshot.doc_ids
        self.position = {doc_id: i for i, doc_id in enumerate(docs)}
        metas = [self.snapshot.doc_meta(d) for d in docs]
        self.name_words = [set(folded_tokens(name_text(m))) for m in metas]
        self.title_words = [set(folded_tokens(m["title"])) - stopwords() for m in metas]
        self.aliases = [
            [
                " ".join(folded_tokens(a))
                for a in [m["title"], *m.get("aliases", "").split(ALIAS_SEPARATOR.strip())]
                if a.strip()
            ]
            for m in metas
        ]
        titles = [f" {self.snapshot.folded_titles[d]} " for d in docs]
        self.markers = [{v for v, (marks, _) in variants().items() if has_phrase(t, marks)} for t in titles]
        self.title_lengths = [len(t.split()) for t in titles]
        self.titles = titles
        cores = [BRACKETED.sub(" ", m["title"]) for m in metas]
        self.core_lengths = [len(folded_tokens(core)) for core in cores]
        plain = [" ".join(folded_tokens(LEADING_THU_TUC.sub("", core))) for core in cores]
        self.core_words = [frozenset(core.split()) for core in plain]
        self.core_pairs = [frozenset(_pairs(core)) for core in plain]
        for record, guide in self.snapshot.guide_of.items():  # a guide's aliases name its record too
            i, g = self.position[record], self.position[guide]
            self.name_words[i] |= self.name_words[g]
            self.aliases[i] += self.aliases[g][1:]
        self.alias_pairs = [[_pairs(a) for a in names] for names in self.aliases]

    @cached_property
    def vocabulary(self) -> set[str]:
        """Every folded word of the index (BM25's folded vocabulary)."""
        return set(self.snapshot.bm25_folded.vocab)

    def rarity(self, word: str) -> float:
        """How rare a folded word is in the index, 0 (in every passage) to 1 (in none): log-IDF scaled
        by its largest value."""
        total = max(1, len(self.snapshot.ids))
        count = self.snapshot.bm25_folded.document_frequency(word)
        return math.log((total + 1) / (count + 1)) / math.log(total + 1)

    def doc_words(self, doc_id: str) -> set[str]:
        """Every folded word of one document, its name included."""
        return set(self.snapshot.doc_words[doc_id].split()) | self.name_words[self.position[doc_id]]


# Folded phrases that hold a variant's cue word without asking for the variant: "thời hạn" is not
# "thôi" (to end), "đối tượng" and "qua đời" are not "đổi" (to exchange), adopting a child is not
# acknowledging one, and a family of old ("gia đình cũ") has not settled abroad ("định cư").
NOT_VARIANT_CUES = (
    "thoi gian", "thoi han", "thoi diem", "thoi ky", "thoi hieu", "doi tuong", "doi voi", "doi chieu",
    "qua doi", "nhan con nuoi", "gia dinh cu",
)  # fmt: skip


FOREIGN = "foreign"  # the variant group (variants.txt) a country or a nationality asks for


# Folded phrases by which a question says that everyone concerned is Vietnamese and at home ("cả bố và mẹ
# đều là người Việt", "không có yếu tố nước ngoài"): whatever else it names, it does not ask for the
# foreign-element variant.
DOMESTIC_CUES = (
    "deu la nguoi viet", "deu la cong dan viet", "deu quoc tich viet", "deu mang quoc tich viet",
    "deu co quoc tich viet", "ca hai la nguoi viet", "hai ben la cong dan viet", "hai cong dan viet",
    "khong co yeu to nuoc ngoai", "khong co nguoi nuoc ngoai", "khong ai la nguoi nuoc ngoai",
)  # fmt: skip


# The parents' marriage named in a question about a birth ("vợ chồng tôi đã đăng ký kết hôn, con mới sinh"):
# it says who the child's parents are, not that a registration is to be done again ("đã đăng ký").
PARENTS_MARRIED = ("da dang ky ket hon", "da ket hon")
BIRTH_NAMED = ("khai sinh", "moi sinh", "vua sinh", "sinh be", "sinh con", "sinh chau")


def names_parents_married(question: Question) -> bool:
    padded = f" {question.folded} "
    return has_phrase(padded, BIRTH_NAMED) and has_phrase(padded, PARENTS_MARRIED)


def says_domestic(question: Question) -> bool:
    return has_phrase(f" {question.folded} ", DOMESTIC_CUES)


def asked_variants(question: Question) -> set[str]:
    """The variant groups the question asks for, by their cues (variants.txt); a country or a
    nationality (places.txt, abroad) asks for the foreign-element one, unless the question says everyone
    is Vietnamese."""
    text = without_phrases(f" {question.folded} ", DOMESTIC_CUES)
    if names_parents_married(question):
        text = without_phrases(text, PARENTS_MARRIED)
    asked = {FOREIGN} if has_phrase(text, places()["abroad"]) else set()
    # a place holds no cue either: "Sài Gòn" does not say "sai" (wrongly written)
    text = without_phrases(text, (*NOT_VARIANT_CUES, *(p for group in places().values() for p in group)))
    return asked | {v for v, (_, cues) in variants().items() if has_phrase(text, cues)}


class ProcedureRanker:
    def __init__(self, model_text: str | None = None) -> None:
        self.booster = None
        if model_text:
            import lightgbm

            self.booster = lightgbm.Booster(model_str=model_text)
        self._names: tuple[str, NameIndex] | None = None

    @classmethod
    def shipped(cls) -> ProcedureRanker:
        """The model trained by eval/train_routing.py and shipped in the package, if there is one."""
        path = resources.files("assistant").joinpath(MODELS).joinpath(RANKER_FILE)
        return cls(path.read_text(encoding="utf-8") if path.is_file() else None)

    def names(self, snapshot: Snapshot) -> NameIndex:
        if self._names is None or self._names[0] != snapshot.name:
            self._names = (snapshot.name, NameIndex(snapshot))
        return self._names[1]

    def rank(self, question: Question, snapshot: Snapshot, found: Found) -> list[Candidate]:
        """Candidates best first by the model: the fused documents, then the best by name (words and
        meaning). ``reorder.settled`` then applies what the model cannot know."""
        names = self.names(snapshot)
        unit = found.vector / (np.linalg.norm(found.vector) or 1.0)
        name_dense = snapshot.name_vectors @ unit
        context = {
            "name_dense": name_dense,
            "name_dense_rank": _ranks(snapshot, name_dense),
            "name_topic": _relative(_name_bm25(question, snapshot, topic_only=True)),
            "name_all": _relative(_name_bm25(question, snapshot, topic_only=False)),
            "dense_rank": _doc_ranks(snapshot, found.dense_rows),
            "lexical_rank": _doc_ranks(snapshot, sorted(found.lexical, key=lambda r: -found.lexical[r])),
            "topic": {doc: (score, float(rank)) for rank, (doc, _, score) in enumerate(found.topic_docs)},
            # the question's own, read once rather than for each candidate
            "asked": asked_variants(question),
            "topic_words": set(folded_tokens(question.topic_text)),
            "pairs": _pairs(question.folded) | set(question.words),
        }
        allowed = _allowed_docs(snapshot, found.mask)
        order = [doc for doc, _, _ in found.fused_docs]
        order += [doc for doc, _, _ in found.topic_docs[:NAME_CANDIDATES] if doc not in order]
        for scores in (name_dense, context["name_topic"]):
            ranked = [snapshot.doc_ids[i] for i in np.argsort(-scores * allowed)[:NAME_CANDIDATES]]
            order += [d for d in ranked if allowed[names.position[d]] and d not in order]
        fused = {doc: (row, score, rank) for rank, (doc, row, score) in enumerate(found.fused_docs)}
        candidates = []
        for doc in order:
            rows = snapshot.doc_chunks(doc)
            sims = snapshot.vectors[rows] @ unit
            row, score, rank = fused.get(doc, (rows[int(np.argmax(sims))], 0.0, ABSENT_RANK))
            features = _features(question, snapshot, names, doc, (score, rank, sims, rows), found, context)
            candidates.append(Candidate(doc, row, features, score))
        if self.booster is not None and candidates:
            scores = self.booster.predict(np.vstack([c.features for c in candidates]))
            for candidate, value in zip(candidates, scores, strict=True):
                candidate.score = float(value)
        return sorted(candidates, key=lambda c: -c.score)


@dataclass
class Found:
    """What retrieval found for one question, as the ranker reads it."""

    fused_docs: list[tuple[str, int, float]]  # (doc id, best row, fused score), fused order
    lexical: dict[int, float]  # chunk rows BM25 found, with their scores
    dense_rows: list[int]  # chunk rows in dense order
    vector: np.ndarray  # the question's embedding
    mask: np.ndarray | None
    topic_docs: list[tuple[str, int, float]] = field(default_factory=list)  # fused for topic words only


def _features(
    question: Question,
    snapshot: Snapshot,
    names: NameIndex,
    doc: str,
    passages: tuple,
    found: Found,
    context: dict,
) -> np.ndarray:
    score, rank, sims, rows = passages
    i = names.position[doc]
    asked, marks = context["asked"], names.markers[i]
    words = set(question.words)
    topic = context["topic_words"]
    text = f" {question.folded} "
    best_lexical = max(found.lexical.values(), default=0.0) or 1.0
    topical = context["topic"].get(doc, (0.0, ABSENT_RANK))
    values = [
        score,
        rank,
        topical[0],
        topical[1],
        float(sims.max()),
        max((found.lexical.get(r, 0.0) for r in rows), default=0.0) / best_lexical,
        float(context["name_dense"][i]),
        float(context["name_dense_rank"][i]),
        float(context["name_topic"][i]),
        float(context["name_all"][i]),
        _share(names.title_words[i], words),
        max((_share(set(a.split()), words) for a in names.aliases[i]), default=0.0),
        max((_share(pairs, context["pairs"]) for pairs in names.alias_pairs[i]), default=0.0),
        float(any(f" {a} " in text for a in names.aliases[i] if a)),
        float(context["dense_rank"].get(doc, ABSENT_RANK)),
        float(context["lexical_rank"].get(doc, ABSENT_RANK)),
        _share(topic, names.name_words[i]),
        _share(topic, names.doc_words(doc)),
        float(len(topic)),
        float(len(marks - asked)),
        float(len(asked - marks)),
        float(len(asked & marks)),
        float(names.title_lengths[i]),
        float(snapshot.doc_meta(doc).get("kind") == "report"),
        float(question.accented),
    ]
    return np.asarray(values, dtype=np.float32)


def _ranks(snapshot: Snapshot, scores: np.ndarray) -> np.ndarray:
    """Each document's place (0 = best) by ``scores``, in doc_ids order."""
    places = np.empty(len(scores), dtype=np.float32)
    places[np.argsort(-scores)] = np.arange(len(scores), dtype=np.float32)
    return places


def _doc_ranks(snapshot: Snapshot, rows: list[int]) -> dict[str, float]:
    """Each document's place in a ranking of chunk rows (by its best chunk)."""
    places: dict[str, float] = {}
    for row in rows:
        places.setdefault(snapshot.metadatas[row]["doc_id"], float(len(places)))
    return places


def _name_bm25(question: Question, snapshot: Snapshot, topic_only: bool) -> np.ndarray:
    """Title/alias BM25 of the question's words, or of its topic words only (aspect cues left out)."""
    terms = query_terms(question)
    if topic_only:
        terms = [t for t in terms if fold(t) in set(question.topic)]
    if not terms or not snapshot.doc_ids:
        return np.zeros(len(snapshot.doc_ids), dtype=np.float32)
    bm25 = snapshot.title_bm25_raw if question.accented else snapshot.title_bm25_folded
    return bm25.scores(with_bigrams(terms))


def _relative(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if len(scores) else 0.0
    return scores / top if top > 0 else scores


def _allowed_docs(snapshot: Snapshot, mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        return np.ones(len(snapshot.doc_ids), dtype=np.float32)
    return np.asarray([mask[snapshot.doc_chunks(d)[0]] for d in snapshot.doc_ids], dtype=np.float32)


def _pairs(phrase: str) -> set[str]:
    """A folded phrase's neighbouring word pairs, or its one word: Vietnamese words are mostly two
    syllables, so pairs tell "con nuôi" (an adopted child) from "con bò" (a cow) where syllables do not."""
    words = phrase.split()
    return {f"{a} {b}" for a, b in pairwise(words)} if len(words) > 1 else set(words)


def _share(words: set[str], found_in: set[str]) -> float:
    return len(words & found_in) / len(words) if words else 0.0
