"""The evaluator: metric functions on hand-computed cases, input parsing, and an end-to-end run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.evaluation.faq import load_items
from assistant.evaluation.metrics import bootstrap_ci, first_rank, hit_at, ndcg_at, reciprocal_rank
from tests.conftest import EMBEDDING_CACHE, ROOT


def test_rank_metrics_by_hand():
    ranked = ["a", "b", "c", "d"]
    assert first_rank(ranked, ["c"]) == 2
    assert first_rank(ranked, ["z"]) is None
    assert hit_at(2, 3) == 1.0 and hit_at(2, 2) == 0.0 and hit_at(None, 10) == 0.0
    assert reciprocal_rank(2) == pytest.approx(1 / 3)
    assert reciprocal_rank(12) == 0.0
    # One relevant doc at rank 3 (1-based): DCG = 1/log2(4) = 0.5, ideal = 1.
    assert ndcg_at(ranked, ["c"]) == pytest.approx(0.5)
    # Two relevant docs at ranks 1 and 3: (1 + 0.5) / (1 + 1/log2(3)).
    assert ndcg_at(ranked, ["a", "c"]) == pytest.approx(1.5 / (1 + 0.6309297535714575))
    assert ndcg_at(ranked, []) == 0.0


def test_bootstrap_interval_brackets_the_mean_and_is_repeatable():
    values = [1.0] * 80 + [0.0] * 20
    low, high = bootstrap_ci(values)
    assert low < 0.8 < high and low > 0.65 and high < 0.95
    assert bootstrap_ci(values) == (low, high)
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)


def test_jsonl_with_malformed_lines(tmp_path: Path):
    path = tmp_path / "faq.jsonl"
    path.write_text(
        '{"id": "a", "question": "lệ phí khai sinh", "relevant": ["khai-sinh"], "answer_points": ["miễn"]}\n'
        "not json\n"
        '{"question": ""}\n'
        "[1, 2]\n"
        '{"question": "lam ho chieu", "relevant": []}\n',
        encoding="utf-8",
    )
    loaded = load_items(path)
    assert [i.id for i in loaded.items] == ["a", "q5"]
    assert loaded.items[1].accents is False and loaded.items[0].accents is True
    assert [e.split(":")[1] for e in loaded.errors] == ["2", "3", "4"]


def test_csv_with_a_column_mapping(tmp_path: Path):
    path = tmp_path / "faq.csv"
    path.write_text(
        "Câu hỏi,Mã tài liệu,Ý chính\n"
        "lệ phí khai sinh,khai-sinh;khai-sinh-luu-dong,miễn lệ phí\n"
        ",khai-sinh,\n",
        encoding="utf-8",
    )
    loaded = load_items(path, {"question": "Câu hỏi", "relevant": "Mã tài liệu", "answer_points": "Ý chính"})
    assert len(loaded.items) == 1 and loaded.errors[0].startswith("faq.csv:3")
    item = loaded.items[0]
    assert item.relevant == ("khai-sinh", "khai-sinh-luu-dong") and item.answer_points == ("miễn lệ phí",)
    # Without an answer_points column, answer metrics for it are simply off.
    bare = tmp_path / "bare.csv"
    bare.write_text("question\nlệ phí khai sinh\n", encoding="utf-8")
    assert load_items(bare).items[0].has_answer_points is False


def test_end_to_end_run_writes_all_outputs(tmp_path: Path):
    index = tmp_path / "index"
    env = {"ASSISTANT_EMBEDDING_CACHE": str(EMBEDDING_CACHE), "PATH": "/usr/bin:/bin"}
    ingest = [
        sys.executable,
        "-m",
        "assistant",
        "ingest",
        str(ROOT / "corpus" / "reports"),
        "--index",
        str(index),
    ]
    subprocess.run(ingest, check=True, capture_output=True, env=env)
    faq = tmp_path / "faq.jsonl"
    rows = [json.loads(line) for line in (ROOT / "eval" / "faq_reports.jsonl").open(encoding="utf-8")][:12]
    faq.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nbroken\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "eval",
            str(faq),
            "--index",
            str(index),
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "faq.jsonl:13" in result.stderr
    metrics = json.loads(result.stdout)
    for key in (
        "retrieval.hybrid.hit@1",
        "retrieval.naive.mrr@10",
        "answer.answer_point_recall",
        "answer.refusal_precision",
        "answer.refusal_recall",
        "answer.citation_validity",
        "latency.p50_ms",
    ):
        assert key in metrics, key
    assert metrics["retrieval.hybrid.hit@5"] >= 0.9 and metrics["answer.citation_validity"] == 1.0
    for name in ("report.md", "results.jsonl", "metrics.json", "report.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 12 and "ranks" in json.loads(lines[0])
    assert "| hybrid |" in (out / "report.md").read_text(encoding="utf-8")


def test_portal_codes_label_whichever_document_carries_them(corpus_assistant, tmp_path: Path):
    from assistant.evaluation.metrics import metrics
    from assistant.evaluation.runner import run

    faq = tmp_path / "codes.jsonl"
    rows = [
        {"question": "làm giấy khai sinh cho con mới sinh cần gì", "relevant": ["1.001193.md"]},
        {"question": "lam giay khai sinh cho con moi sinh can gi", "relevant": ["1.001193"]},
        {"question": "cách đổi mật khẩu app Vietcombank", "relevant": [], "expect": "off_topic"},
        {"question": "ông bà trên 80 tuổi xin trợ cấp người cao tuổi", "relevant": [], "expect": "not_in_kb"},
    ]
    faq.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    results = run(corpus_assistant, load_items(faq).items, ["hybrid"], progress=False)
    assert results[0].relevant == ["khai-sinh"] and results[0].ranks["hybrid"] == 0
    summary = metrics(results, ["hybrid"])
    assert summary["routing.right_first"] == 1.0 and summary["routing.wrong_procedure"] == 0.0
    assert summary["routing.off_topic_refused"] == 1.0 and summary["routing.honest_not_covered"] == 1.0


def test_a_file_whose_labels_name_nothing_in_the_index_is_refused(corpus_assistant, tmp_path: Path):
    from assistant.evaluation.runner import run

    faq = tmp_path / "wrong.jsonl"
    faq.write_text('{"question": "lệ phí khai sinh", "relevant": ["9.999999"]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="không nhãn nào"):
        run(corpus_assistant, load_items(faq).items, ["hybrid"], progress=False)
