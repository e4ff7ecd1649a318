"""Accented and unaccented citizen questions find the right procedure among the shipped guides and 240
real portal records, and the shipped FAQ set reaches the targets on the shipped corpus."""

import json

import numpy as np
import pytest

from tests.conftest import ROOT

# (question with diacritics, portal code of the record that answers it)
QUESTIONS = [
    ("làm giấy khai sinh cho con mới sinh cần giấy tờ gì", "1.001193"),
    ("muốn nhập hộ khẩu thường trú vào nhà người thân thì làm thế nào", "1.004222"),
    ("thuê trọ thì đăng ký tạm trú ở đâu", "1.004194"),
    ("hai đứa muốn đăng ký kết hôn cần mang gì", "1.000894"),
    ("làm hộ chiếu phổ thông lần đầu mất bao lâu", "1.001456"),
    ("xin giấy phép xây dựng nhà ở riêng lẻ cần hồ sơ gì", "1.013225"),
    ("mở quán cà phê nhỏ cần đăng ký hộ kinh doanh thế nào", "1.001612"),
    ("chứng thực bản sao từ bản chính lệ phí bao nhiêu", "2.000815"),
    ("bố mất rồi thì làm giấy khai tử thế nào", "1.000656"),
    ("xin giấy xác nhận tình trạng hôn nhân để mua nhà", "1.004873"),
    ("bị mất thẻ căn cước thì làm lại thế nào", "1.014064"),
    ("xin phiếu lý lịch tư pháp để đi xin việc", "3.000333"),
]


def rank_of(assistant, question: str, code: str, k: int = 10) -> int | None:
    """Where the procedure of a portal code ranks: its record, or the guide that stands for it."""
    codes = [h.code.split(", ") for h in assistant.search(question, k=k).hits]
    return next((i for i, found in enumerate(codes) if code in found), None)


@pytest.mark.parametrize("accented", [True, False], ids=["accented", "unaccented"])
def test_real_records_found_with_and_without_diacritics(dvc_assistant, accented):
    from assistant.text import fold

    ranks = [rank_of(dvc_assistant, q if accented else fold(q), code) for q, code in QUESTIONS]
    in_top5 = sum(r is not None and r < 5 for r in ranks)
    # Measured: 12/12 accented and 12/12 unaccented in the top 5 (see eval/README.md).
    assert in_top5 >= 11, list(zip(QUESTIONS, ranks, strict=True))


def test_unaccented_question_is_restored_before_dense_search(dvc_assistant):
    result = dvc_assistant.search("lam giay khai sinh cho con can giay to gi", k=3)
    assert not result.question.accented
    assert result.question.dense_text.startswith("làm giấy khai sinh")


def test_portal_code_names_the_record(dvc_assistant):
    assert rank_of(dvc_assistant, "thủ tục 1.004873 cần giấy tờ gì", "1.004873") == 0


def test_level_filter_on_real_records(dvc_assistant):
    hits = dvc_assistant.search("đăng ký khai sinh", k=10, filters={"level": "Cấp tỉnh"}).hits
    assert hits and all("tỉnh" in h.level for h in hits)


def _faq(name: str) -> list[dict]:
    lines = (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_faq_targets_on_shipped_corpus(corpus_assistant):
    rows = [r for r in _faq("faq_procedures.jsonl") + _faq("faq_reports.jsonl") if r["relevant"]]
    found = {True: [], False: []}
    for row in rows:
        ids = [h.doc_id for h in corpus_assistant.search(row["question"], k=5).hits]
        found[row["accents"]].append(any(d in row["relevant"] for d in ids))
    accented = sum(found[True]) / len(found[True])
    unaccented = sum(found[False]) / len(found[False])
    # Targets: hit@5 >= 0.95 accented and >= 0.90 unaccented; measured 0.995 and 0.979.
    assert accented >= 0.95, accented
    assert unaccented >= 0.93, unaccented


def test_short_forms_are_spelled_out_for_the_embedder(corpus_assistant):
    result = corpus_assistant.search("dang ky hkd bao lau thi co giay", k=3)
    assert "hộ kinh doanh" in result.question.dense_text
    assert result.hits[0].doc_id == "dang-ky-thanh-lap-ho-kinh-doanh"
    # Accented questions too, whatever the case of the short form.
    accented = corpus_assistant.search("ĐKKH có mất tiền không", k=1)
    assert accented.question.dense_text.startswith("đăng ký kết hôn")


def test_dense_search_ranks_every_passage_exactly(corpus_assistant):
    """Chroma's approximate HNSW search missed a closer passage in the top ten for 5 of the 442 FAQ
    questions, and a just-uploaded one-chunk guide (cosine 0.92, runner-up 0.85) in about one upload
    of fifteen. Dense search must return what exact cosine over the stored vectors returns."""
    dense = corpus_assistant.retriever.dense
    snapshot = corpus_assistant.snapshot()
    index = corpus_assistant.index
    stored = index.store.shared(index.dir).get(include=["embeddings"])
    index.store.release(index.dir)
    vectors = np.asarray(stored["embeddings"], dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for row in _faq("faq_procedures.jsonl"):
        question = dense.embed(corpus_assistant.understand(row["question"], snapshot))
        ranking = dense.run(question, snapshot, None)
        question = np.asarray(question) / np.linalg.norm(question)
        exact = np.sort(vectors @ question)[::-1][:10]
        found = np.asarray(ranking.scores[:10])
        assert np.abs(found - exact).max() < 1e-5, row["question"]
