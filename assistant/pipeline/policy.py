"""The answer policy: given a question, the dialogue so far and what retrieval found, decide whether to
answer (and from which document), ask which procedure is meant, or refuse, and say why.

The policy only decides; the service applies the decision to the session and the composer writes the
answer. Scores it compares are on the fusion scale (``pipeline/fusion.py``), and only as ratios to the
best hit, so the thresholds mean the same whichever fuser runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

import numpy as np

from assistant.config import Settings
from assistant.lexicon import refused_variants
from assistant.pipeline.answers import Option, pick_option
from assistant.pipeline.confidence import Confidence, question_features
from assistant.pipeline.procedures import NameIndex
from assistant.pipeline.question import Question
from assistant.pipeline.reorder import other_kind
from assistant.pipeline.retrieve import Hit, SearchResult
from assistant.store.snapshot import Snapshot
from assistant.text import folded_tokens, has_phrase

Action = Literal["answer", "clarify", "refuse"]
Reason = Literal[
    "picked_option",  # answered: the user picked an offered procedure
    "follow_up",  # answered: a follow-up about the procedure in focus
    "best_match",  # answered: the procedure ranked first
    "report_for_figures",  # answered: a count question goes to a report
    "shared_name",  # clarify: the question is only a name several procedure titles share
    "close_scores",  # clarify: a short question and a near tie
    "off_topic",  # refused: not about administrative procedures
    "not_in_knowledge_base",  # refused: about a procedure the knowledge base does not hold
    "no_hits",  # refused: nothing matched at all
]
# Words that name a kind of paper ("thẻ ATM", "chứng chỉ hành nghề", "giấy phép xây dựng"): the words
# after them say which one, and a procedure whose name has none of those words is about another paper.
PAPER_WORDS = (("thẻ",), ("chứng", "chỉ"), ("giấy", "phép"))
PAPER_STARTS = frozenset(head[0] for head in PAPER_WORDS)  # a second paper word ends the first one's name
# Words after a paper word that say what happened to it or how it is asked (function words, chat
# particles), not which paper it is.
NOT_A_NAME = frozenset(
    ("bị", "mất", "lại", "cấp", "làm", "xin", "đổi", "gãy", "hỏng", "hư", "rách", "nát", "mới", "cũ", "của",
     "cho", "hết", "hạn", "đã", "còn", "thì", "có", "là", "và", "được", "không", "để", "này", "đó", "nào",
     "gì", "ở", "tại", "với", "vào", "ra", "về", "khi", "phải", "nữa", "rồi", "luôn", "cần", "muốn", "bao",
     "mấy", "thế", "như", "sao", "ai", "đâu", "nhưng", "mà", "hay", "hoặc", "chưa", "ko", "k", "hok", "đc",
     "dc", "nhé", "nha", "ạ", "vậy", "hả", "nhỉ")
)  # fmt: skip
# Folded phrases by which a question asks the state for something: a permit, a certificate or a code, an
# approval, a registration with the police, an allowance. A refusal of such a question is about a
# procedure the knowledge base does not hold, never "not about administrative procedures" (no near-domain
# out-of-scope question of the read sets holds one; a company's own service is refused as off topic first).
STATE_ACT_CUES = (
    "giay phep", "cap phep", "xin phep", "chung chi", "chung nhan", "nha nuoc", "ubnd", "uy ban", "ma so",
    "phe duyet", "chap thuan", "cong nhan", "tham dinh", "xin giay", "lien van", "nhap khau", "xuat khau",
    "hanh nghe", "du dieu kien", "cong an", "to khai", "tam tru", "xin tro cap", "huong tro cap",
)  # fmt: skip
MAX_OPTIONS = 6  # choices listed when asking back which procedure is meant
OPTION_WINDOW = 1.0  # a procedure is offered when its ranker score is this close to the best


@dataclass
class Decision:
    action: Action
    reason: Reason
    doc_id: str | None = None
    found_in: str | None = None  # the section retrieval ranked first in that document
    options: list[Option] = field(default_factory=list)
    asked: str | None = None  # for a picked option: the earlier question it answers


@dataclass
class DialogueState:
    """What the policy reads of a session (it never changes it)."""

    focus_doc: str | None
    pending_options: list[Option]
    pending_question: str


class Policy:
    def __init__(
        self,
        settings: Settings,
        off_topic_vectors: Callable[[], np.ndarray],
        names: Callable[[Snapshot], NameIndex],
        confidence: Confidence | None = None,
    ) -> None:
        self.settings = settings
        self.off_topic_vectors = off_topic_vectors
        self.names = names
        self.confidence = confidence

    def continue_dialogue(
        self, question: Question, state: DialogueState, snapshot: Snapshot
    ) -> Decision | None:
        """A reply that picks an offered option, or a follow-up that names no new topic ('còn lệ phí
        thì sao?'), is answered without searching; None means search."""
        if state.pending_options:
            option = pick_option(question.text, state.pending_options)
            if option is not None:
                return Decision("answer", "picked_option", option.doc_id, asked=state.pending_question)
        if self._is_follow_up(question, state, snapshot):
            return Decision("answer", "follow_up", state.focus_doc)
        return None

    def decide(self, question: Question, result: SearchResult, snapshot: Snapshot) -> Decision:
        if not result.hits:
            return Decision("refuse", "no_hits")
        margin = self._off_topic_margin(result)
        if self._off_topic(question, result, snapshot, margin):
            return self._outside(question)
        refused = self._not_covered(question, result, snapshot, margin)
        if refused is not None:
            return refused
        report = self._report_for_figures(question, result)
        if report is not None:
            return Decision("answer", "report_for_figures", report.doc_id, report.section)
        options, reason = self._ambiguity(question, result)
        if options:
            return Decision("clarify", reason, options=options)
        best = result.hits[0]
        return Decision("answer", "best_match", best.doc_id, best.section)

    @staticmethod
    def _is_follow_up(question: Question, state: DialogueState, snapshot: Snapshot) -> bool:
        if not state.focus_doc or not snapshot.doc_chunks(state.focus_doc):
            return False
        if not question.topic:
            return True
        if len(question.topic) > 1:
            return False
        meta = snapshot.doc_meta(state.focus_doc)
        return question.topic[0] in folded_tokens(f"{meta['title']} {meta.get('aliases', '')}")

    def _off_topic_margin(self, result: SearchResult) -> float:
        """How much closer the question is to its best passage than to the nearest off-topic anchor."""
        query = np.asarray(result.query_vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        return result.best_similarity - float((self.off_topic_vectors() @ query).max())

    def _not_covered(
        self, question: Question, result: SearchResult, snapshot: Snapshot, margin: float
    ) -> Decision | None:
        """A refusal when the shipped confidence model doubts that any document holds the procedure
        asked about: the topic words are not explained, the names do not match, the ranker hesitates.
        The nearest procedure is offered when it is a near miss."""
        if self.confidence is None or not result.candidates:
            return None
        unserved = self._unserved(question, result, snapshot)
        if unserved is not None:
            return Decision("refuse", unserved)
        features = question_features(question, result.candidates, self.names(snapshot), margin)
        in_scope = self.confidence.in_scope.probability(features)
        if in_scope >= self.confidence.threshold and not self._other_paper(question, result, snapshot):
            return None
        if self.confidence.not_in_kb.probability(features) < 0.5:
            return self._outside(question)
        options = []
        if in_scope >= self.confidence.threshold / 2:
            best = result.hits[0]
            options = [Option(n=1, doc_id=best.doc_id, title=best.title, level=best.level)]
        return Decision("refuse", "not_in_knowledge_base", options=options)

    @staticmethod
    def _outside(question: Question) -> Decision:
        """The refusal of a question no procedure of the knowledge base matches: off topic, unless it
        asks the state for something ("xin giấy phép liên vận", "cấp chứng chỉ hành nghề"), which is a
        procedure the knowledge base does not hold, to be redirected to those who handle it."""
        asked = f" {question.folded} "
        services = (cues for _, cues, refusal in refused_variants().values() if refusal == "off_topic")
        if has_phrase(asked, STATE_ACT_CUES) and not any(has_phrase(asked, cues) for cues in services):
            return Decision("refuse", "not_in_knowledge_base")
        return Decision("refuse", "off_topic")

    def _unserved(self, question: Question, result: SearchResult, snapshot: Snapshot) -> Reason | None:
        """The refusal for a question that asks for a variant no guide answers unless its title marks it
        (variants.txt, 'refuse:'), when the best procedure's title does not: a notary asking how to
        open an office matches the company-registration guide on every word but the one that matters.
        Likewise a question about one kind of business (a cooperative) or grade of building work (an
        office tower of grade II) when the best procedure is for another (a household business, a
        detached house) and none for the asked kind ranked close."""
        names = self.names(snapshot)
        title = names.titles[names.position[result.candidates[0].doc_id]]
        if other_kind(question, title):
            return "not_in_knowledge_base"
        asked = f" {question.folded} "
        for marks, cues, refusal in refused_variants().values():
            if has_phrase(asked, cues) and not has_phrase(title, marks):
                return "off_topic" if refusal == "off_topic" else "not_in_knowledge_base"
        return None

    def _other_paper(self, question: Question, result: SearchResult, snapshot: Snapshot) -> bool:
        """The question names a card, certificate or licence ("thẻ ATM", "thẻ sinh viên", "chứng chỉ
        hành nghề") and the best procedure's name has none of the words that say which: "cấp lại thẻ
        … bị mất" matches the identity-card guide however well, but a bank card is not an identity card."""
        named = paper_names(question.dense_text)
        if not named:
            return False
        names = self.names(snapshot)
        best = result.candidates[0].doc_id
        if any(set(words) & names.name_words[names.position[best]] for words in named):
            return False
        # The question may name another paper beside the one the procedure is about ("đưa thẻ BHYT vào
        # căn cước"): the best title's own paper, named in the question, is enough.
        own = paper_names(snapshot.doc_meta(best)["title"])
        asked = set(question.words)
        return not any(words and set(words) <= asked for words in own)

    def _off_topic(self, question: Question, result: SearchResult, snapshot: Snapshot, margin: float) -> bool:
        """Closer to the off-topic anchors than to any passage, by the calibrated margins."""
        if margin < self.settings.refuse_margin:
            return True
        if margin >= self.settings.refuse_margin_without_term:
            return False
        asked = set(pairwise(question.words))
        for hit in result.hits[:3]:
            aliases = snapshot.doc_meta(hit.doc_id).get("aliases", "")
            if asked & set(pairwise(folded_tokens(f"{hit.title} {aliases}"))):
                return False
        return True

    @staticmethod
    def _report_for_figures(question: Question, result: SearchResult) -> Hit | None:
        """A report ranked in the top three, for a count question that asks no procedure aspect
        ("tphcm có bao nhiêu xã"): procedures state fees and time limits, reports state counts."""
        if question.aspect != "general" or not question.wants_figure:
            return None
        return next((hit for hit in result.hits[:3] if hit.kind == "report"), None)

    def _ambiguity(self, question: Question, result: SearchResult) -> tuple[list[Option], str]:
        """Procedures to ask back about, or none. A question that is nothing but a name several
        procedure titles share ("hộ kinh doanh": register, change, suspend, close...) is asked back
        whatever the scores, the ordinary procedure first as the ranker puts it. A short question is
        asked back when the runner-up's ranker score is within the configured margin of the best
        (wider for a bare name than for a question that says what it wants)."""
        hits = [h for h in result.hits if h.kind == "procedure"]
        if len(hits) < 2 or hits[0].doc_id != result.hits[0].doc_id:
            return [], ""
        s = self.settings
        name = f" {question.folded} "
        named = [h for h in hits if name in f" {' '.join(folded_tokens(h.title))} "]
        shared_name = question.aspect == "general" and len(named) >= 2 and hits[0] in named
        score = {c.doc_id: c.score for c in result.candidates}
        top = score.get(hits[0].doc_id, 0.0)
        if not shared_name:
            if len(question.topic) > s.clarify_max_topic_words:
                return [], ""
            window = s.clarify_margin if question.aspect == "general" else s.clarify_margin_aspect
            if top - score.get(hits[1].doc_id, 0.0) > window:
                return [], ""
        close = [h for h in hits[:4] if top - score.get(h.doc_id, 0.0) <= OPTION_WINDOW]
        chosen = (close + [h for h in named if h not in close])[:MAX_OPTIONS]
        options = [
            Option(n=i, doc_id=h.doc_id, title=h.title, level=h.level) for i, h in enumerate(chosen, 1)
        ]
        return options, "shared_name" if shared_name else "close_scores"


def paper_names(text: str) -> list[tuple[str, ...]]:
    """The folded words that follow each paper word of ``text`` (accented, as the question is read):
    up to two, stopping at punctuation or at a word that tells what happened to the paper, or how,
    rather than which paper it is."""
    words = text.lower().split()
    named = []
    for i in range(len(words)):
        for head in PAPER_WORDS:
            if (
                tuple(w.strip(",.;:?!") for w in words[i : i + len(head)]) != head
                or words[i + len(head) - 1][-1:] in ",.;:?!"
            ):
                continue
            after = []
            for word in words[i + len(head) : i + len(head) + 2]:
                bare = word.strip(",.;:?!()\"'")
                if bare in NOT_A_NAME or bare in PAPER_STARTS:
                    break
                after.append(bare)
                if bare != word.rstrip("()\"'"):
                    break  # punctuation ends the name
            if after:
                named.append(tuple(t for w in after for t in folded_tokens(w)))
    return named
