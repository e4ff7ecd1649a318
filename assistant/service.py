"""The Assistant: the one object that the UI, the HTTP API, the CLI and the evaluator all call."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from importlib import resources
from itertools import pairwise
from pathlib import Path

import numpy as np
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from assistant.answer import (
    Answer,
    Option,
    clarification,
    detect_aspect,
    document_sections,
    extractive,
    pick_option,
    refusal,
    topic_words,
    wants_figure,
)
from assistant.config import Settings, get_settings
from assistant.conversation import Session, SessionStore
from assistant.documents import SUMMARY_SECTION
from assistant.embeddings import make_embedder, spec_name
from assistant.feedback import FeedbackStore
from assistant.index import IndexVersion, IngestReport, KnowledgeIndex
from assistant.llm import LLMAnswerer, make_chat_model
from assistant.retrieval import Hit, HybridRetriever, SearchResult
from assistant.text import folded_tokens, is_encodable, normalize
from assistant.uploads import UploadError, UploadOutcome, quarantine, save_upload

MAX_OPTIONS = 6  # choices listed when asking back which procedure is meant
# A question typed in decomposed Unicode (NFD) is up to three code points a letter before NFC joins
# them, so the raw text may be this much longer than the limit that applies after normalising.
DECOMPOSED_FACTOR = 3


class QuestionError(ValueError):
    """A question that cannot be asked: empty, too long, not text."""


class QuestionTooLong(QuestionError):
    """A question over the configured length; refused before any text processing runs on it."""


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = folded_tokens(text)
    return set(pairwise(words))


class _LazyEmbedder(Embeddings):
    """Loads the configured model on first use, so a no-change re-ingest never loads it."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._model: Embeddings | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Embeddings:
        with self._lock:
            if self._model is None:
                self._model = make_embedder(self.spec)
            return self._model

    @property
    def name(self) -> str:
        return spec_name(self.spec)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)


class Assistant:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.embedder = _LazyEmbedder(self.settings.embedder)
        self.index = KnowledgeIndex(
            self.settings.index_dir,
            self.embedder,
            self.settings.chunk_chars,
            self.settings.chunk_overlap,
            self.settings.embedding_cache,
            self.settings.chroma_url,
        )
        self._naive: tuple[str, Chroma] | None = None

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.index, self.embedder, self.settings)

    def ingest(
        self,
        paths: Iterable[Path],
        progress: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        return self.index.ingest(paths, progress=progress, on_progress=on_progress)

    @cached_property
    def feedback(self) -> FeedbackStore:
        """The one feedback store every channel writes to."""
        return FeedbackStore(self.settings.data_dir / "feedback.sqlite")

    @property
    def uploads_dir(self) -> Path:
        return self.settings.data_dir / "uploads"

    def add_documents(
        self, files: Iterable[tuple[str, bytes]], on_progress: Callable[[int, int], None] | None = None
    ) -> tuple[UploadOutcome, IngestReport]:
        """Save uploaded files and index them: the one path the API and the admin tab share. A file
        refused by name, type or size is not saved; one that cannot be read is moved aside."""
        outcome = UploadOutcome()
        limit = int(self.settings.max_upload_mb * 2**20)
        for name, data in files:
            try:
                outcome.saved.append(save_upload(self.uploads_dir, name, data, limit).name)
            except UploadError as exc:
                outcome.refused.append((name, exc))
        report = self.reindex_uploads(on_progress) if outcome.saved else IngestReport()
        unreadable = dict(report.failed)
        outcome.unreadable = [(n, unreadable[n]) for n in outcome.saved if n in unreadable]
        outcome.saved = [n for n in outcome.saved if n not in unreadable]
        return outcome, report

    def reindex_uploads(
        self, on_progress: Callable[[int, int], None] | None = None, with_corpus: bool = False
    ) -> IngestReport:
        """Bring the index in line with the uploads (and the configured corpus, if asked); uploads
        that fail to load are moved to DATA_DIR/rejected so that no later reindex reads them again."""
        roots = [*self.settings.corpus_dirs] if with_corpus else []
        roots = [r for r in [*roots, self.uploads_dir] if r.exists()]
        report = self.ingest(roots, progress=False, on_progress=on_progress)
        uploaded = {p.name for p in self.uploads_dir.iterdir()} if self.uploads_dir.exists() else set()
        quarantine(
            self.uploads_dir,
            [n for n, _ in report.failed if n in uploaded],
            self.settings.data_dir / "rejected",
        )
        return report

    def search(
        self, question: str, k: int | None = None, filters: dict[str, str | None] | None = None
    ) -> SearchResult:
        return self.retriever.search(self.clean_question(question), k=k, filters=filters)

    def stats(self) -> dict[str, object]:
        return self.index.stats()

    def document(self, doc_id: str) -> dict[str, object] | None:
        """A whole record: metadata, the short facts of its card, and every section in order."""
        version = self.index.current()
        rows = version.doc_chunks(doc_id)
        if not rows:
            return None
        record = self._summary(version, doc_id)
        record["sections"] = [
            {"name": name, "text": text}
            for _, name, text in document_sections(version, doc_id)
            if name != SUMMARY_SECTION
        ]
        return record

    def list_documents(self, filters: dict[str, str | None] | None = None) -> list[dict[str, object]]:
        """Every document (or those matching kind/field/level filters), as lookup-table rows."""
        version = self.index.current()
        resolved = self.retriever.resolve_filters(filters, version)
        mask = self.retriever.mask(resolved, version)
        return [
            self._summary(version, doc_id)
            for doc_id, rows in version.rows_of_doc.items()
            if mask is None or mask[rows[0]]
        ]

    @staticmethod
    def _summary(version: IndexVersion, doc_id: str) -> dict[str, object]:
        meta = version.metadatas[version.doc_chunks(doc_id)[0]]
        card = {}
        for row in version.doc_chunks(doc_id):
            if version.metadatas[row]["section"] == SUMMARY_SECTION:
                for line in version.texts[row].splitlines():
                    label, _, value = line.lstrip("- ").partition(": ")
                    card[label] = value
        keys = ("doc_id", "title", "kind", "field", "level", "code", "url", "source")
        return {
            **{key: meta.get(key, "") for key in keys},
            "fee": card.get("Phí, lệ phí", ""),
            "processing_time": card.get("Thời hạn giải quyết", ""),
        }

    def rank_documents(self, question: str, mode: str = "hybrid", k: int = 10) -> list[str]:
        """Document ids in ranked order; 'naive' is the LangChain tutorial baseline the evaluator
        compares against: Chroma similarity_search on the raw question, no fusion, no accent handling."""
        if mode != "naive":
            return [h.doc_id for h in self.retriever.search(question, k=k, mode=mode).hits]
        docs = self._naive_store().similarity_search(question, k=k * 3)
        return list(dict.fromkeys(d.metadata["doc_id"] for d in docs))[:k]

    def _naive_store(self) -> Chroma:
        version = self.index.current()
        if self._naive is None or self._naive[0] != version.name:
            vectors = self.index.store
            store = Chroma(
                client=vectors.client(version.path),
                collection_name=vectors.collection_name(version.name),
                embedding_function=self.embedder,
            )
            self._naive = (version.name, store)
        return self._naive[1]

    # ---- answering ------------------------------------------------------------------------------

    @cached_property
    def sessions(self) -> SessionStore:
        return SessionStore(self.settings.sessions_max, self.settings.session_ttl_seconds)

    @cached_property
    def _off_topic_vectors(self) -> np.ndarray:
        text = resources.files("assistant").joinpath("data/off_topic.txt").read_text(encoding="utf-8")
        anchors = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        vectors, _ = self.index.embed_texts(anchors)
        return np.vstack(vectors)

    def warm_up(self) -> None:
        """Load the index, the embedder and the off-topic anchors before the first user waits for them."""
        if self.index.exists():
            self.ask("thủ tục đăng ký khai sinh")

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

    @cached_property
    def llm(self) -> LLMAnswerer | None:
        """The optional fluent-answer backend; None means the extractive default."""
        if not self.settings.llm:
            return None
        s = self.settings
        model = make_chat_model(s.llm, s.llm_base_url, s.llm_api_key, s.llm_timeout_s, s.llm_max_tokens)
        return LLMAnswerer(model, s.llm_timeout_s)

    def ask(
        self, question: str, session_id: str | None = None, filters: dict[str, str | None] | None = None
    ) -> Answer:
        """Answer one turn. Without a session id every question stands alone."""
        *_, answer = self.ask_stream(question, session_id, filters)
        return answer

    def ask_stream(
        self, question: str, session_id: str | None = None, filters: dict[str, str | None] | None = None
    ) -> Iterator[str | Answer]:
        """Yield pieces of the answer text as they are ready, then the finished Answer."""
        started = time.perf_counter()
        text = self.clean_question(question)
        session = self.sessions.get(session_id) if session_id else Session(id="")
        answer = self._answer(text, session, filters)
        session.turns += 1
        if self.llm is not None and answer.status == "answered":
            for part in self.llm.stream(text, answer):
                if isinstance(part, Answer):
                    answer = part
                else:
                    yield part
        else:
            yield from answer.text.splitlines(keepends=True)
        answer.timings["total_ms"] = (time.perf_counter() - started) * 1000
        yield answer

    def _answer(self, question: str, session: Session, filters: dict[str, str | None] | None) -> Answer:
        version = self.index.current()
        if session.pending_options:
            option = pick_option(question, session.pending_options)
            asked = session.pending_question
            session.pending_options = []
            if option is not None:
                session.focus_doc = option.doc_id
                return extractive(version, option.doc_id, asked, detect_aspect(asked))
        aspect = detect_aspect(question)
        if self._is_follow_up(question, session, version):
            return extractive(version, session.focus_doc, question, aspect)
        result = self.retriever.search(question, k=10, filters=filters)
        if not result.hits:
            session.reset()
            return refusal("no_hits")
        if self._off_topic(question, result, version):
            session.reset()
            return refusal("off_topic")
        best = self._report_for_figures(question, aspect, result)
        options = self._ambiguity(question, result, aspect) if best is None else []
        if options:
            session.reset()
            session.pending_options, session.pending_question = options, question
            return clarification(options)
        best = best or result.hits[0]
        session.focus_doc = best.doc_id
        answer = extractive(version, best.doc_id, question, aspect, found_in=best.section)
        answer.timings.update(result.timings)
        return answer

    def _is_follow_up(self, question: str, session: Session, version: IndexVersion) -> bool:
        """A turn that names no new topic ('còn lệ phí thì sao?') stays with the procedure in focus."""
        if not session.focus_doc or not version.doc_chunks(session.focus_doc):
            return False
        words = topic_words(question)
        if not words:
            return True
        if len(words) > 1:
            return False
        meta = version.metadatas[version.doc_chunks(session.focus_doc)[0]]
        return words[0] in folded_tokens(f"{meta['title']} {meta.get('aliases', '')}")

    def _off_topic(self, question: str, result: SearchResult, version: IndexVersion) -> bool:
        """Closer to the off-topic anchors than to any passage, by the calibrated margins."""
        query = np.asarray(result.query_vector, dtype=np.float32)
        margin = result.best_similarity - float((self._off_topic_vectors @ query).max())
        if margin < self.settings.refuse_margin:
            return True
        if margin >= self.settings.refuse_margin_without_term:
            return False
        asked = _bigrams(question)
        for hit in result.hits[:3]:
            meta = version.metadatas[version.row_of[hit.chunk_id]]
            if asked & _bigrams(f"{hit.title} {meta.get('aliases', '')}"):
                return False
        return True

    @staticmethod
    def _report_for_figures(question: str, aspect: str, result: SearchResult) -> Hit | None:
        """A report ranked in the top three, for a count question that asks no procedure aspect
        ("tphcm có bao nhiêu xã"): procedures state fees and time limits, reports state counts."""
        if aspect != "general" or not wants_figure(question):
            return None
        return next((hit for hit in result.hits[:3] if hit.kind == "report"), None)

    def _ambiguity(self, question: str, result: SearchResult, aspect: str) -> list[Option]:
        """Procedures to ask back about, or none. A short question is asked back when the runner-up
        scores close to the best: sooner for a bare name ("khai sinh") than for a question that says
        what it wants ("khai tử có mất phí không"), where only a near tie is asked back. A question
        that is nothing but a name several procedure titles share ("hộ kinh doanh": register, change,
        suspend, close...) is asked back whatever the scores. The options also list lower-ranked
        procedures whose title contains the whole question: for "khai sinh" the ordinary guide ranks
        below its variants, whose tiny sections ("Giấy khai sinh.") match two words closely."""
        hits = [h for h in result.hits if h.kind == "procedure"]
        if len(hits) < 2 or hits[0].doc_id != result.hits[0].doc_id:
            return []
        s = self.settings
        name = f" {' '.join(folded_tokens(question))} "
        named = [h for h in hits if name in f" {' '.join(folded_tokens(h.title))} "]
        shared_name = aspect == "general" and len(named) >= 2 and hits[0] in named
        if not shared_name:
            if len(topic_words(question)) > s.clarify_max_topic_words:
                return []
            ratio = s.clarify_ratio if aspect == "general" else s.clarify_ratio_aspect
            if hits[1].score < ratio * hits[0].score:
                return []
        close = [h for h in hits[:4] if h.score >= 0.7 * hits[0].score]
        chosen = (close + [h for h in named if h not in close])[:MAX_OPTIONS]
        return [Option(n=i, doc_id=h.doc_id, title=h.title, level=h.level) for i, h in enumerate(chosen, 1)]
