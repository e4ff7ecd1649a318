"""The shipped knowledge base: schema, sections, FAQ labels, and agreement with the portal records."""

import json
import re
import unicodedata
from pathlib import Path

import pytest

from assistant.ingest.kb import GUIDE_SECTIONS, ProcedureGuide, Report, read_document
from assistant.text import fold
from tests.conftest import DVC_DIR, ROOT

CORPUS = ROOT / "corpus"
GUIDES = sorted((CORPUS / "procedures").glob("*.md"))
REPORTS = sorted((CORPUS / "reports").glob("*.md"))
ASPECTS = {
    "documents",
    "fee",
    "time",
    "steps",
    "where",
    "eligibility",
    "online",
    "legal_basis",
    "general",
    "out_of_scope",
}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_DIACRITIC = re.compile(r"[^\x00-\x7f]")

# Guides whose fee or time figure is not in the cited record, with the reason. Empty: none differ.
JUSTIFIED_DIFFERENCES: dict[str, str] = {}


def numbers(text: str) -> set[str]:
    """Figures with separators and leading zeros removed, so '8.000' == '8,000' and '03' == '3'."""
    return {re.sub(r"[.,]", "", n).lstrip("0") or "0" for n in _NUMBER.findall(text)}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def load_faq(name: str) -> list[dict]:
    lines = (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def documents() -> dict[str, tuple[object, str]]:
    found = {}
    for path in GUIDES + REPORTS:
        model, _ = read_document(path)
        assert model.id not in found, f"duplicate id {model.id}"
        found[model.id] = (model, nfc(path.read_text(encoding="utf-8")))
    return found


def test_there_are_enough_guides_and_reports():
    assert len(GUIDES) >= 80
    assert len(REPORTS) >= 2


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_guide_schema_and_sections(path: Path):
    model, sections = read_document(path)
    assert isinstance(model, ProcedureGuide)
    assert model.id == path.stem
    assert tuple(sections) == GUIDE_SECTIONS
    text = path.read_text(encoding="utf-8")
    assert text == nfc(text), "guide is not NFC"
    body = text.split("\n---", 1)[1]
    assert not re.search(r"\b(quận|huyện)\s+\d", body, re.IGNORECASE), "names a district office"


def test_guides_name_other_procedures_by_title_never_by_id(documents):
    """A citizen reads "xem thủ tục Đính chính Giấy chứng nhận...", not an internal id."""
    raw = re.compile(
        r"(?<![\w-])(" + "|".join(map(re.escape, sorted(documents, key=len, reverse=True))) + r")(?![\w-])"
    )
    found = [
        f"{doc_id}: {match.group(1)}"
        for doc_id, (_, text) in documents.items()
        for match in raw.finditer(text.split("\n---", 1)[1])
    ]
    assert not found, found


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_report_schema(path: Path):
    model, sections = read_document(path)
    assert isinstance(model, Report) and model.id == path.stem and len(sections) >= 2


def _record(code: str) -> str | None:
    path = DVC_DIR / f"{code}.md"
    return path.read_text(encoding="utf-8") if path.exists() else None


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_fee_and_time_agree_with_the_portal_record(path: Path):
    if not DVC_DIR.is_dir():
        pytest.skip("shared records not present")
    guide, _ = read_document(path)
    records = [r for r in (_record(c) for c in guide.codes) if r]
    if not records or guide.id in JUSTIFIED_DIFFERENCES:
        pytest.skip(JUSTIFIED_DIFFERENCES.get(guide.id, "codes not in the shared records"))
    in_records = set().union(*(numbers(r) for r in records))
    invented = (numbers(guide.fee) | numbers(guide.processing_time)) - in_records
    assert not invented, f"figures not in the record: {invented}"
    fee_lines = [
        line.split("Phí, lệ phí", 1)[1]
        for record in records
        for line in record.splitlines()
        if line.startswith("- **") and "Phí, lệ phí" in line
    ]
    if fee_lines and all("miễn phí" in line.lower() and not numbers(line) for line in fee_lines):
        assert re.search(r"\b(mien|khong)\b", fold(guide.fee).lower()), "record says free; guide does not"


@pytest.mark.parametrize("name", ["faq_procedures.jsonl", "faq_reports.jsonl", "faq_heldout.jsonl"])
def test_faq_labels_and_answer_points(name: str, documents):
    rows = load_faq(name)
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert set(row) == {"id", "question", "relevant", "aspect", "answer_points", "accents"}, row["id"]
        assert row["aspect"] in ASPECTS, row["id"]
        assert (row["aspect"] == "out_of_scope") == (row["relevant"] == []), row["id"]
        assert row["accents"] == bool(_DIACRITIC.search(nfc(row["question"]))), row["id"]
        for doc_id in row["relevant"]:
            assert doc_id in documents, f"{row['id']}: unknown doc id {doc_id}"
            title = documents[doc_id][0].title.lower()
            assert title not in row["question"].lower(), f"{row['id']} pastes the title"
        texts = [documents[d][1] for d in row["relevant"]]
        for point in row["answer_points"]:
            assert any(nfc(point) in t for t in texts), f"{row['id']}: '{point}' not in a labelled document"


def test_faq_shares():
    rows = load_faq("faq_procedures.jsonl")
    assert len(rows) >= 300
    assert sum(not r["accents"] for r in rows) / len(rows) >= 0.40
    assert sum(r["aspect"] == "out_of_scope" for r in rows) / len(rows) >= 0.10
    reports = load_faq("faq_reports.jsonl")
    assert len(reports) >= 40


def test_dialogues_reference_existing_documents(documents):
    rows = load_faq("dialogues.jsonl")
    assert len(rows) >= 4
    for dialogue in rows:
        assert len(dialogue["turns"]) >= 2
        for turn in dialogue["turns"]:
            for doc_id in turn.get("expect_doc", []):
                assert doc_id in documents, f"{dialogue['id']}: unknown doc {doc_id}"
