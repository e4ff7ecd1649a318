"""Running an FAQ set: every retrieval mode, then the default answerer, question by question.

Labels in ``relevant`` may be doc ids or source paths, so any corpus can be evaluated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from langchain_chroma import Chroma
from tqdm import tqdm

from assistant.evaluation.faq import EvalItem, QuestionResult
from assistant.evaluation.metrics import first_rank, ndcg_at
from assistant.pipeline.answers import MARKER
from assistant.store.vectors import COLLECTION

EVAL_MODES = ("bm25", "dense", "hybrid", "naive")


def run(
    assistant,
    items: list[EvalItem],
    modes: Iterable[str] = EVAL_MODES,
    answers: bool = True,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[QuestionResult]:
    """Evaluate every item in every retrieval mode and, if asked, with the default answerer."""
    modes = list(modes)
    version = assistant.snapshot()
    baseline = NaiveBaseline(assistant)
    field_of = {
        version.metadatas[rows[0]]["doc_id"]: version.metadatas[rows[0]]["field"]
        for rows in version.rows_of_doc.values()
    }
    resolve = label_resolver(version)
    check_labels(items, resolve)
    results: list[QuestionResult] = []
    for number, item in enumerate(tqdm(items, desc="Đánh giá", unit="câu", disable=not progress), start=1):
        relevant = {doc for label in item.relevant for doc in resolve(label)}
        ranks: dict[str, int | None] = {}
        ndcg: dict[str, float] = {}
        for mode in modes:
            ranked = rank_documents(assistant, item.question, mode, baseline)
            ranks[mode] = first_rank(ranked, relevant)
            ndcg[mode] = ndcg_at(ranked, relevant)
        first_label = next(iter(relevant), "")
        result = QuestionResult(
            id=item.id,
            question=item.question,
            aspect=item.aspect or "unknown",
            accents=item.accents,
            field=field_of.get(first_label, "ngoài phạm vi" if not relevant else "không rõ"),
            relevant=sorted(relevant),
            ranks=ranks,
            ndcg=ndcg,
            expect=item.expect,
        )
        if answers:
            started = time.perf_counter()
            answer = assistant.ask(item.question)
            result.latency_ms = (time.perf_counter() - started) * 1000
            result.status, result.answer, result.answer_doc = answer.status, answer.text, answer.doc_id
            result.reason = answer.reason
            result.citations = [c.as_dict() for c in answer.citations]
            markers = {int(n) for n in MARKER.findall(answer.text)}
            result.citation_valid = markers <= {c.n for c in answer.citations}
            if relevant and answer.citations:
                result.citation_supported = all(c.doc_id in relevant for c in answer.citations[:1])
            for point in item.answer_points:
                (result.points_found if point in answer.text else result.points_missed).append(point)
            result.problem = _diagnose(item, result, relevant)
        results.append(result)
        if on_progress:
            on_progress(number, len(items))
    return results


def label_resolver(snapshot) -> Callable[[str], set[str]]:
    """A label names documents by doc id, by source path, or by portal code as staff know it
    ('1.001193' or '1.001193.md'): every guide or record that carries that code."""
    by_source = {snapshot.doc_meta(d)["source"]: d for d in snapshot.doc_ids}
    by_code: dict[str, set[str]] = {}
    for doc_id in snapshot.doc_ids:
        for code in snapshot.doc_meta(doc_id).get("code", "").split(", "):
            if code:
                by_code.setdefault(code, set()).add(doc_id)

    def resolve(label: str) -> set[str]:
        code = label.removesuffix(".md")
        if code in by_code:  # a record is named after its code: the guide of that code counts too
            return by_code[code]
        if label in snapshot.rows_of_doc:
            return {label}
        return {by_source[label]} if label in by_source else set()

    return resolve


def check_labels(items: list[EvalItem], resolve: Callable[[str], set[str]]) -> None:
    """Refuse a file whose labels name nothing in the index: every retrieval figure would be 0."""
    labels = {label for item in items for label in item.relevant}
    if labels and not any(resolve(label) for label in labels):
        sample = ", ".join(sorted(labels)[:5])
        raise ValueError(
            f"không nhãn nào trong tệp ({sample}...) trỏ tới tài liệu trong chỉ mục: nhãn phải là mã "
            "tài liệu, đường dẫn nguồn hoặc mã thủ tục (1.001193) của một tài liệu đã nạp"
        )


def _diagnose(item: EvalItem, result: QuestionResult, relevant: set[str]) -> str:
    if not relevant:
        return "" if result.status == "refused" else "ngoài phạm vi nhưng vẫn trả lời"
    if result.status == "refused":
        return "từ chối nhầm câu hỏi trong phạm vi"
    if result.status == "clarify":
        return "hỏi lại thay vì trả lời"
    if result.answer_doc not in relevant:
        return f"chọn sai tài liệu ({result.answer_doc})"
    if result.points_missed:
        return "đúng tài liệu nhưng thiếu ý: " + "; ".join(result.points_missed)
    return ""


class NaiveBaseline:
    """The LangChain tutorial baseline the evaluator compares against: Chroma similarity_search on the
    raw question, no fusion, no accent handling."""

    def __init__(self, assistant) -> None:
        self.store = Chroma(
            client=assistant.index.store.client(assistant.index.dir),
            collection_name=COLLECTION,
            embedding_function=assistant.embedder,
        )

    def rank(self, question: str, k: int) -> list[str]:
        docs = self.store.similarity_search(question, k=k * 3)
        return list(dict.fromkeys(d.metadata["doc_id"] for d in docs))[:k]


def rank_documents(assistant, question: str, mode: str, baseline: NaiveBaseline, k: int = 10) -> list[str]:
    """Document ids in ranked order for one retrieval mode ('naive' is the baseline above)."""
    if mode == "naive":
        return baseline.rank(question, k)
    return [h.doc_id for h in assistant.search(question, k=k, mode=mode).hits]
