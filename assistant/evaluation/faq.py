"""FAQ items and their per-question results.

FAQ files are JSONL in the FAQ format (question, relevant, answer_points, aspect, accents) or CSV with
a column mapping; malformed lines are reported by line number and skipped."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from assistant.text import has_diacritics

FIELDS = ("question", "relevant", "answer_points", "aspect")


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    relevant: tuple[str, ...] = ()
    answer_points: tuple[str, ...] = ()
    aspect: str = ""
    accents: bool = True
    has_answer_points: bool = False
    has_relevant: bool = False
    # What a right reply is: "answer" (from a relevant document), "not_in_kb" (an honest "not in the
    # knowledge base yet") or "off_topic" (a refusal). Without the field: answer if labelled, else off_topic.
    expect: str = ""


EXPECTATIONS = ("answer", "not_in_kb", "off_topic")


@dataclass
class LoadResult:
    items: list[EvalItem]
    errors: list[str]


def _split_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value or "").strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            return _split_list(json.loads(text))
        except json.JSONDecodeError:
            pass
    return [part.strip() for part in text.replace("|", ";").split(";") if part.strip()]


def _item(data: dict, number: int, mapping: dict[str, str]) -> EvalItem:
    def get(name: str) -> object:
        return data.get(mapping.get(name, name))

    question = str(get("question") or "").strip()
    if not question:
        raise ValueError("thiếu câu hỏi")
    relevant_raw, points_raw = get("relevant"), get("answer_points")
    relevant = tuple(_split_list(relevant_raw))
    expect = str(get("expect") or ("answer" if relevant else "off_topic"))
    if expect not in EXPECTATIONS:
        raise ValueError(f"expect phải là một trong {EXPECTATIONS}")
    return EvalItem(
        id=str(data.get("id") or f"q{number}"),
        question=question,
        relevant=relevant,
        answer_points=tuple(_split_list(points_raw)),
        aspect=str(get("aspect") or ""),
        accents=bool(data["accents"]) if "accents" in data else has_diacritics(question),
        has_answer_points=points_raw is not None,
        has_relevant=relevant_raw is not None,
        expect=expect,
    )


def load_items(path: Path, mapping: dict[str, str] | None = None) -> LoadResult:
    """Read a FAQ file; malformed lines are reported by line number and skipped."""
    mapping = mapping or {}
    items: list[EvalItem] = []
    errors: list[str] = []
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        rows = ((number, row) for number, row in enumerate(reader, start=2))
    else:
        rows = ((n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip())
    for number, row in rows:
        try:
            data = row if isinstance(row, dict) else json.loads(row)
            if not isinstance(data, dict):
                raise ValueError("không phải một đối tượng JSON")
            items.append(_item(data, number, mapping))
        except (ValueError, TypeError) as exc:
            errors.append(f"{path.name}:{number}: {exc}")
    return LoadResult(items, errors)


@dataclass
class QuestionResult:
    id: str
    question: str
    aspect: str
    accents: bool
    field: str
    relevant: list[str]
    ranks: dict[str, int | None]
    ndcg: dict[str, float] = field(default_factory=dict)
    status: str = ""
    answer: str = ""
    answer_doc: str | None = None
    citations: list[dict] = field(default_factory=list)
    points_found: list[str] = field(default_factory=list)
    points_missed: list[str] = field(default_factory=list)
    citation_valid: bool = True
    citation_supported: bool | None = None
    latency_ms: float = 0.0
    problem: str = ""
    expect: str = "answer"
    reason: str = ""
