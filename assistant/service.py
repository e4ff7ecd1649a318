"""The Assistant: the one front door that the UI, the HTTP API, the CLI and the evaluator all call.

It owns the index, the sessions and the stores, and runs one ask as the pipeline's stages over one
snapshot pinned for the whole request: understand -> retrieve -> policy -> compose -> (LLM rewrite).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from assistant import catalogue
from assistant.config import Settings, get_settings
from assistant.conversation import Session, SessionStore
from assistant.errors import IndexUnavailable, QuestionError, QuestionTooLong
from assistant.ingest.records import SyncReport, compare, guides_of, load_state, save_state, stale_codes
from assistant.ingest.uploads import UploadDesk, UploadOutcome
from assistant.insight.feedback import FeedbackStore
from assistant.insight.log import Asked, QuestionLog, database_url
from assistant.insight.staff import StaffInsight
from assistant.lexicon import off_topic_anchors
from assistant.pipeline.answers import Answer, clarification, refusal
from assistant.pipeline.compose import extractive
from assistant.pipeline.confidence import Confidence
from assistant.pipeline.policy import Decision, DialogueState, Policy
from assistant.pipeline.question import Question, understand
from assistant.pipeline.retrieve import Retriever, SearchResult, filter_mask, resolve_filters
from assistant.pipeline.rewrite import LLMAnswerer, make_chat_model
from assistant.privacy import without_personal_details
from assistant.store.embeddings import LazyEmbedder
from assistant.store.index import KnowledgeIndex
from assistant.store.manifest import IngestReport
from assistant.store.snapshot import Snapshot
from assistant.text import is_encodable, normalize

# A question typed in decomposed Unicode (NFD) is up to three code points a letter before NFC joins
# them, so the raw text may be this much longer than the limit that applies after normalising.
DECOMPOSED_FACTOR = 3


class Assistant:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = s = settings or get_settings()
        self.embedder = LazyEmbedder(
            s.embedder, s.embedder_base_url, s.embedder_api_key, s.embed_threads, s.embed_engine
        )
        self.index = KnowledgeIndex(
            s.index_dir, self.embedder, s.chunk_chars, s.chunk_overlap, s.embedding_cache, s.chroma_url
        )
        # Indexing files and folders (incremental; see store/index.py) is the index's own job.
        self.ingest = self.index.ingest
        self.retriever = Retriever(self.embedder, s)
        self.policy = Policy(
            s, lambda: self._off_topic_vectors, self.retriever.procedures.names, Confidence.shipped()
        )
        self.uploads = UploadDesk(
            folder=s.data_dir / "uploads",
            rejected=s.data_dir / "rejected",
            max_bytes=int(s.max_upload_mb * 2**20),
            ingest=lambda roots, on_progress: self.index.ingest(
                roots, progress=False, on_progress=on_progress
            ),
        )

    # ---- the knowledge base ---------------------------------------------------------------------

    def add_documents(
        self, files: Iterable[tuple[str, bytes]], on_progress: Callable[[int, int], None] | None = None
    ) -> tuple[UploadOutcome, IngestReport]:
        return self.uploads.add(files, on_progress)

    def reindex(self) -> IngestReport:
        """The configured corpus and the uploads, brought in line with what is on disk."""
        return self.uploads.reindex(list(self.settings.corpus_dirs))

    def sync_records(self, folder: Path, dry_run: bool = False) -> tuple[SyncReport, IngestReport | None]:
        """Compare an official records folder with the index and the guides (new, changed, removed,
        stale guides, uncovered ward procedures), remember what changed, and re-index the changes."""
        started = time.perf_counter()
        if not folder.is_dir():
            raise IndexUnavailable(f"không tìm thấy thư mục hồ sơ '{folder}'")
        files = self.index.current_manifest()["files"]
        state = load_state(self.settings.index_dir)
        report = compare(folder, files, guides_of(files), state, dt.date.today())
        ingest = None
        if not dry_run:
            save_state(self.settings.index_dir, state)
            if report.new or report.changed or report.removed:
                ingest = self.index.ingest([folder], progress=False)
        report.seconds = time.perf_counter() - started
        return report, ingest

    def stale_codes(self) -> set[str]:
        """Portal codes whose guide may be out of date (its record changed after the guide's check)."""
        return stale_codes(self.settings.index_dir, guides_of(self.index.current_manifest()["files"]))

    def stats(self) -> dict[str, object]:
        return self.index.stats()

    def snapshot(self) -> Snapshot:
        """The version to answer one request from; pass it on rather than asking again."""
        return self.index.current()

    def document(self, doc_id: str) -> dict[str, object] | None:
        return catalogue.record(self.snapshot(), doc_id, self.stale_codes())

    def list_documents(self, filters: dict[str, str | None] | None = None) -> list[dict[str, object]]:
        """The catalogue: one row per procedure; ``source`` filters guides, records only, or stale guides."""
        filters = dict(filters or {})
        source = filters.pop("source", None)
        snapshot = self.snapshot()
        mask = filter_mask(resolve_filters(filters, snapshot), snapshot)
        return catalogue.rows(
            snapshot, mask, source, self.stale_codes() if source in (None, "stale") else None
        )

    @cached_property
    def feedback(self) -> FeedbackStore:
        """The one feedback store every channel writes to."""
        return FeedbackStore(self.settings.data_dir / "feedback.sqlite")

    def add_feedback(self, session: str, question: str, answer: str, rating: str, comment: str = "") -> int:
        """Store 👍/👎 (redacted) and attach it to the logged ask it rates."""
        stored = self.feedback.add(session, question, answer, rating, comment)
        if self.question_log is not None:
            self.question_log.add_feedback(session, normalize(question).strip(), rating, comment)
        return stored

    # ---- questions ------------------------------------------------------------------------------

    def clean_question(self, question: object) -> str:
        """The question in its normal form, or QuestionError. Size and encoding are checked on the raw
        text first (cheaply), so an oversized input never reaches the text processing."""
        if not isinstance(question, str):
            raise QuestionError("câu hỏi phải là văn bản")
        limit = self.settings.max_question_chars
        too_long = QuestionTooLong(f"câu hỏi dài quá {limit} ký tự")
        if len(question) > DECOMPOSED_FACTOR * limit:
            raise too_long
        if not is_encodable(question):
            raise QuestionError("câu hỏi chứa ký tự không hợp lệ")
        text = normalize(question).strip()
        if not text:
            raise QuestionError("câu hỏi trống")
        if len(text) > limit:
            raise too_long
        return text

    def understand(self, question: object, snapshot: Snapshot) -> Question:
        return understand(without_personal_details(self.clean_question(question)), snapshot.accents.restore)

    def search(
        self,
        question: str,
        k: int | None = None,
        filters: dict[str, str | None] | None = None,
        mode: str = "hybrid",
    ) -> SearchResult:
        """The top documents for a question, each with its best passage (``ASSISTANT_TOP_K`` of them
        unless ``k`` says otherwise)."""
        snapshot = self.snapshot()
        asked = self.understand(question, snapshot)
        return self.retriever.search(asked, snapshot, k or self.settings.top_k, filters, mode)

    # ---- answering ------------------------------------------------------------------------------

    @cached_property
    def question_log(self) -> QuestionLog | None:
        """Where asks are logged (redacted) for staff insight; None when ASSISTANT_QUESTION_LOG=false."""
        s = self.settings
        if not s.question_log:
            return None
        return QuestionLog(database_url(s.database_url, s.data_dir), s.question_log_days)

    @cached_property
    def insight(self) -> StaffInsight:
        """What staff read from the question log: summary, gaps (with stale guides), CSV."""
        return StaffInsight(
            self.question_log, self._titles, lambda: self.snapshot().vectors.mean(axis=0), self._stale_guides
        )

    def _titles(self) -> dict[str, str]:
        snapshot = self.snapshot()
        return {doc_id: snapshot.doc_meta(doc_id)["title"] for doc_id in snapshot.doc_ids}

    def _stale_guides(self) -> list[dict[str, str]]:
        if not self.stale_codes():
            return []
        return [
            {k: str(r[k]) for k in ("doc_id", "code", "title")}
            for r in self.list_documents({"source": "stale"})
        ]

    @cached_property
    def sessions(self) -> SessionStore:
        return SessionStore(self.settings.sessions_max, self.settings.session_ttl_seconds)

    @cached_property
    def _off_topic_vectors(self) -> np.ndarray:
        vectors, _ = self.index.embed_texts(list(off_topic_anchors()))
        return np.vstack(vectors)

    @cached_property
    def llm(self) -> LLMAnswerer | None:
        """The optional fluent-answer backend; None means the extractive default."""
        if not self.settings.llm:
            return None
        s = self.settings
        model = make_chat_model(s.llm, s.llm_base_url, s.llm_api_key, s.llm_timeout_s, s.llm_max_tokens)
        return LLMAnswerer(model, s.llm_timeout_s)

    def warm_up(self) -> None:
        """Load the index, the embedder and the off-topic anchors before the first user waits for them."""
        if self.index.exists():
            self.ask("thủ tục đăng ký khai sinh")

    def ask(
        self,
        question: str,
        session_id: str | None = None,
        filters: dict[str, str | None] | None = None,
        channel: str | None = None,
    ) -> Answer:
        """Answer one turn. Without a session id every question stands alone; with a ``channel``
        ('web', 'api', 'cli') the ask is written to the question log."""
        *_, answer = self.ask_stream(question, session_id, filters, channel)
        return answer

    def ask_stream(
        self,
        question: str,
        session_id: str | None = None,
        filters: dict[str, str | None] | None = None,
        channel: str | None = None,
    ) -> Iterator[str | Answer]:
        """Pieces of the answer text as they are ready, then the finished Answer. The question is
        checked at once (QuestionError), before anything is streamed."""
        started = time.perf_counter()
        snapshot = self.snapshot()
        asked = self.understand(question, snapshot)
        return self._stream(asked, snapshot, Turn(session_id, filters, channel, started))

    def _stream(self, asked: Question, snapshot: Snapshot, turn: Turn) -> Iterator[str | Answer]:
        session = self.sessions.get(turn.session_id) if turn.session_id else Session(id="")
        answer, result = self._answer(asked, session, turn.filters, snapshot)
        session.turns += 1
        if self.llm is not None and answer.status == "answered":
            for part in self.llm.stream(asked.text, answer):
                if isinstance(part, Answer):
                    answer = part
                else:
                    yield part
        else:
            yield from answer.text.splitlines(keepends=True)
        answer.timings["total_ms"] = (time.perf_counter() - turn.started) * 1000
        if turn.channel and self.question_log is not None:
            self.question_log.record(logged(turn, asked, answer, result))
        yield answer

    def _answer(
        self, question: Question, session: Session, filters: dict[str, str | None] | None, snapshot: Snapshot
    ) -> tuple[Answer, SearchResult | None]:
        state = DialogueState(session.focus_doc, session.pending_options, session.pending_question)
        decision = self.policy.continue_dialogue(question, state, snapshot)
        session.pending_options = []
        result = None
        if decision is None:
            result = self.retriever.search(question, snapshot, self.settings.top_k, filters)
            decision = self.policy.decide(question, result, snapshot)
        _remember(session, decision, question)
        answer = self._compose(decision, question, snapshot)
        if result is not None and decision.action == "answer":
            answer.timings.update(result.timings)
        return answer, result

    def _compose(self, decision: Decision, question: Question, snapshot: Snapshot) -> Answer:
        if decision.action == "refuse":
            return refusal(decision.reason, question.topic_text, decision.options)
        if decision.action == "clarify":
            return clarification(decision.options, decision.reason)
        if decision.asked is not None:  # a picked option answers the question asked before it
            question = understand(decision.asked, snapshot.accents.restore)
        answer = extractive(snapshot, decision.doc_id, question, found_in=decision.found_in)
        answer.reason = decision.reason
        return answer


@dataclass
class Turn:
    """Who asked, how, and since when: what an ask carries besides the question."""

    session_id: str | None
    filters: dict[str, str | None] | None
    channel: str | None
    started: float


def logged(turn: Turn, asked: Question, answer: Answer, result: SearchResult | None) -> Asked:
    """The question-log row of one finished ask; refused and clarified questions keep their embedding
    so that the gap report can group them by meaning."""
    keep_vector = result is not None and answer.status != "answered"
    return Asked(
        channel=turn.channel or "api",
        session=turn.session_id or "",
        question=asked.text,
        status=answer.status,
        reason=answer.reason,
        doc_id=answer.doc_id or "",
        title=answer.citations[0].title if answer.citations else "",
        sources=list(dict.fromkeys(c.doc_id for c in answer.citations)),
        candidates=[h.doc_id for h in result.hits[:3]] if result else [],
        latency_ms=answer.timings.get("total_ms", 0.0),
        vector=result.query_vector if keep_vector else None,
    )


def _remember(session: Session, decision: Decision, question: Question) -> None:
    """What the next turn needs: the procedure in focus, or the options offered and what was asked."""
    if decision.action == "answer":
        session.focus_doc = decision.doc_id
    else:
        session.reset()
        if decision.options:  # offered procedures: the next turn may pick one by number
            session.pending_options, session.pending_question = decision.options, question.text
