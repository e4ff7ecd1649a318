from pathlib import Path

import docx
import pytest

from assistant.ingest.loaders import SUMMARY_SECTION, LoadError, load_file
from tests.conftest import DVC_DIR, ROOT


def write_pdf(path: Path, lines: list[str]) -> None:
    """A minimal one-page PDF with Helvetica text (pypdf reads it; no PDF writer dependency)."""
    text_ops = "BT /F1 12 Tf 72 720 Td 16 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    stream = text_ops.encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def test_markdown_guide_with_front_matter():
    path = ROOT / "corpus" / "procedures" / "khai-sinh.md"
    docs = load_file(path, ROOT / "corpus")
    meta = docs[0].metadata
    assert meta["doc_id"] == "khai-sinh"
    assert meta["source"] == "procedures/khai-sinh.md"
    assert meta["kind"] == "procedure" and meta["level"] == "Cấp xã" and meta["field"] == "Hộ tịch"
    assert meta["code"] == "1.001193" and meta["url"].startswith("https://dichvucong.gov.vn/")
    assert docs[0].metadata["section"] == SUMMARY_SECTION
    sections = [d.metadata["section"] for d in docs]
    assert sections[1:4] == ["Ai thực hiện", "Thành phần hồ sơ", "Trình tự thực hiện"]


def test_portal_record_metadata_lines():
    record = DVC_DIR / "1.001193.md"
    if not record.exists():
        pytest.skip("shared records not present")
    docs = load_file(record, DVC_DIR)
    meta = docs[0].metadata
    assert meta["doc_id"] == "1.001193" and meta["code"] == "1.001193"
    assert meta["kind"] == "procedure" and meta["field"] == "Hộ tịch"
    assert meta["url"].startswith("https://dichvucong.gov.vn/")
    assert meta["title"] == "Thủ tục đăng ký khai sinh"
    assert meta["level_xa"] is True
    # Metadata lines are metadata, not passage text; the record's card sums them up, as a guide's does.
    assert not any("Mã thủ tục:" in d.page_content for d in docs if d.metadata["section"] != SUMMARY_SECTION)
    card = next(d for d in docs if d.metadata["section"] == SUMMARY_SECTION).page_content
    assert "- Mã thủ tục: 1.001193" in card and "- Phí, lệ phí: Miễn phí" in card
    assert meta["origin"] == "record" and "giấy khai sinh" in meta["aliases"]  # citizens' words
    assert "Thành phần hồ sơ" in [d.metadata["section"] for d in docs]


def test_plain_text_file(tmp_path: Path):
    path = tmp_path / "thong-bao.txt"
    path.write_text("Thông báo lịch tiếp dân\n\nPhường tiếp dân vào sáng thứ Bảy.", encoding="utf-8")
    docs = load_file(path, tmp_path)
    assert docs[0].metadata["doc_id"] == "thong-bao" and docs[0].metadata["kind"] == "other"
    assert "sáng thứ Bảy" in docs[0].page_content


def test_pdf_layout_text(tmp_path: Path):
    path = tmp_path / "huong-dan.pdf"
    write_pdf(path, ["Huong dan nop ho so", "Le phi: 50.000 dong"])
    docs = load_file(path, tmp_path)
    assert docs[0].metadata["section"] == "Trang 1"
    assert "Le phi: 50.000 dong" in docs[0].page_content


def test_docx_paragraphs_headings_and_tables(tmp_path: Path):
    document = docx.Document()
    document.add_heading("Hướng dẫn cấp bản sao", level=1)
    document.add_heading("Phí và lệ phí", level=2)
    document.add_paragraph("Mức thu theo từng trang.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Trang thứ nhất", "2.000 đồng"
    table.cell(1, 0).text, table.cell(1, 1).text = "Từ trang thứ ba", "1.000 đồng"
    path = tmp_path / "ban-sao.docx"
    document.save(path)
    docs = load_file(path, tmp_path)
    assert docs[0].metadata["title"] == "Hướng dẫn cấp bản sao"
    assert docs[0].metadata["section"] == "Phí và lệ phí"
    assert "Trang thứ nhất | 2.000 đồng" in docs[0].page_content


def test_html_sections_without_scripts(tmp_path: Path):
    path = tmp_path / "tin.html"
    path.write_text(
        "<html><head><title>Tin cải cách</title><script>alert(1)</script></head><body>"
        "<h2>Kết quả</h2><p>Hồ sơ đúng hạn đạt 99,84%.</p><h2>Kế hoạch</h2><ul><li>98 nhiệm vụ</li></ul>"
        "</body></html>",
        encoding="utf-8",
    )
    docs = load_file(path, tmp_path)
    assert [d.metadata["section"] for d in docs] == ["Kết quả", "Kế hoạch"]
    assert docs[0].metadata["title"] == "Tin cải cách"
    assert "alert" not in " ".join(d.page_content for d in docs)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("hong.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("hong.docx", b"PK\x03\x04 broken zip", "DOCX"),
        ("anh.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "nhị phân"),
        ("latin1.md", "Thủ tục".encode("cp1258", errors="replace") + b"\xe0\xe1", "UTF-8"),
        ("rong.md", b"   \n", "rỗng"),
        ("trong.html", b"<html><body><script>x</script></body></html>", "nội dung"),
    ],
)
def test_bad_files_are_reported_with_a_reason(tmp_path: Path, name: str, content: bytes, reason: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load_file(path, tmp_path)


def test_docx_zip_bomb_is_refused_before_unpacking(tmp_path: Path):
    import zipfile

    path = tmp_path / "bom.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            block = b"\0" * 2**20
            for _ in range(150):  # 150 MB of zeros, about 150 KB on disk
                member.write(block)
    assert path.stat().st_size < 2**20
    with pytest.raises(LoadError, match="vượt giới hạn"):
        load_file(path, tmp_path)


def test_a_record_gets_the_citizens_words_for_its_title_unless_the_thesaurus_rules_it_out():
    # "ghe, xuồng, đò" name a boat's registration; a train's, whose title shares the official phrase,
    # must not get them.
    boat, train = DVC_DIR / "1.003930.md", DVC_DIR / "1.010000.md"
    if not (boat.exists() and train.exists()):
        pytest.skip("shared records not present")
    aliases = {path: load_file(path, DVC_DIR)[0].metadata.get("aliases", "") for path in (boat, train)}
    assert "ghe" in aliases[boat].split(" | ") and "xuồng" in aliases[boat]
    assert "ghe" not in aliases[train].split(" | ")
