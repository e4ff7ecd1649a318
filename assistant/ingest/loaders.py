"""Loaders: Markdown/TXT (YAML front matter or portal-style metadata lines), PDF, DOCX and HTML.

Every loader returns one LangChain ``Document`` per section, with the same metadata keys, so the
chunker and the indexes never care where a text came from.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from langchain_core.documents import Document

from assistant.ingest.sanitize import plain_text, safe_url, without_suspicious_lines
from assistant.lexicon import everyday_names
from assistant.text import fold, normalize

MAX_UNPACKED_BYTES = 100 * 2**20  # a DOCX that unpacks to more than this is treated as a zip bomb
MAX_FRONT_MATTER = 16 * 1024
MAX_META_ITEMS = 60  # list entries in one front-matter field (aliases, codes, sources)
MAX_META_CHARS = 1000  # characters in one front-matter value
CARD_VALUE_CHARS = 160  # a record card's fee or time for one way of filing
SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm"}
SUMMARY_SECTION = "Tóm tắt"
ALIAS_SEPARATOR = " | "  # aliases are kept in one metadata string; an alias may itself hold commas
OVERVIEW_SECTION = "Tổng quan"

# Portal record lines such as "- Mã thủ tục: 1.001193" and the metadata keys they fill.
_PORTAL_KEYS = {
    "mã thủ tục": "code",
    "cấp thực hiện": "level",
    "lĩnh vực": "field",
    "cơ quan thực hiện": "agency",
    "bộ, ngành": "ministry",
    "đối tượng thực hiện": "audience",
}
_PORTAL_LINE = re.compile(r"^-\s+([^:\n]{2,40}):\s*(.+)$")
# One way of filing in a record's "Cách thức thực hiện": "- **Trực tuyến** — Thời hạn giải quyết: 1 —
# Phí, lệ phí / mô tả: Miễn phí".
_CHANNEL = re.compile(
    r"^- \*\*(?P<channel>[^*\n]{1,60})\*\* — Thời hạn giải quyết: (?P<time>[^\n]{0,300}?) — "
    r"Phí, lệ phí[^:\n]{0,30}: (?P<fee>[^\n]{0,300})$",
    re.MULTILINE,
)
_URL_LINE = re.compile(r"^url:\s*(\S+)\s*$", re.IGNORECASE)
_ORIGIN_LINE = re.compile(r"^source:\s*\S+\s*$", re.IGNORECASE)
_LEVEL_KEYS = {"xa": "level_xa", "tinh": "level_tinh", "bo": "level_bo"}


class LoadError(Exception):
    """A file that cannot be turned into documents; the message says why, in plain words."""


@dataclass
class ParsedText:
    """A text split into title, metadata and (section name, body) pairs."""

    title: str = ""
    meta: dict[str, object] = field(default_factory=dict)
    sections: list[tuple[str, str]] = field(default_factory=list)


def level_flags(level: str) -> dict[str, bool]:
    """Boolean metadata for each administrative level named in a level string such as 'Cấp tỉnh, Cấp xã'.

    Chroma cannot match a word inside a string, so each level becomes its own filterable flag.
    """
    folded = fold(level).lower()
    return {key: bool(re.search(rf"\b{slug}\b", folded)) for slug, key in _LEVEL_KEYS.items()}


def level_flag_key(level: str) -> str:
    """The metadata flag a level filter uses ('Cấp xã', 'xa', 'cap xa' -> 'level_xa')."""
    flags = [key for key, on in level_flags(level).items() if on]
    if len(flags) != 1:
        raise ValueError(f"không hiểu cấp thực hiện '{level}'; dùng một trong: Cấp xã, Cấp tỉnh, Cấp bộ")
    return flags[0]


def split_sections(body: str) -> ParsedText:
    """Split Markdown-like text at '# ' (title) and '## ' headings; portal metadata lines become meta."""
    parsed = ParsedText()
    current, lines = OVERVIEW_SECTION, []

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            parsed.sections.append((current, text))

    in_preamble = True
    for raw in body.splitlines():
        line = raw.rstrip()
        if line.startswith("# ") and not parsed.title:
            parsed.title = line[2:].strip()
            continue
        if line.startswith("## "):
            flush()
            current, lines, in_preamble = line[3:].strip(), [], False
            continue
        if in_preamble:
            if match := _URL_LINE.match(line):
                parsed.meta["url"] = match.group(1)
                continue
            if _ORIGIN_LINE.match(line):
                continue
            if match := _PORTAL_LINE.match(line):
                key = _PORTAL_KEYS.get(match.group(1).strip().lower())
                if key:
                    parsed.meta[key] = match.group(2).strip()
                    continue
        lines.append(line)
    flush()
    return parsed


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise LoadError("tệp rỗng")
    if b"\x00" in data[:8192]:
        raise LoadError("tệp nhị phân, không phải văn bản")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"không phải mã UTF-8 (byte lỗi ở vị trí {exc.start})") from exc


def front_matter(text: str) -> tuple[dict[str, object], str]:
    """The YAML header of a Markdown file and the body after it.

    The header is untrusted input: anchors and aliases are refused before it is loaded (five nested
    aliases in 347 bytes expand to gigabytes), and every value must be a short text or a short list."""
    if not text.startswith("---"):
        return {}, text
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise LoadError("phần front matter YAML không có dòng '---' đóng")
    header = parts[0].removeprefix("---")
    if len(header) > MAX_FRONT_MATTER:
        raise LoadError(f"front matter dài quá {MAX_FRONT_MATTER // 1024} KB")
    try:
        if any(isinstance(t, yaml.AliasToken | yaml.AnchorToken) for t in yaml.scan(header)):
            raise LoadError("front matter không được dùng anchor/alias YAML (&, *)")
        meta = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        raise LoadError(f"front matter YAML sai cú pháp: {exc}") from exc
    if not isinstance(meta, dict):
        raise LoadError("front matter YAML phải là một bảng khoá: giá trị")
    for key, value in meta.items():
        _check_meta_value(str(key), value)
    return meta, parts[1].lstrip("-").lstrip("\n")


def _check_meta_value(key: str, value: object) -> None:
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_META_ITEMS:
        raise LoadError(f"trường '{key}' có quá {MAX_META_ITEMS} mục")
    for item in items:
        if isinstance(item, dict | list):
            raise LoadError(f"trường '{key}' phải là văn bản hoặc danh sách văn bản")
        if len(str(item)) > MAX_META_CHARS:
            raise LoadError(f"trường '{key}' dài quá {MAX_META_CHARS} ký tự")


def _summary(meta: dict[str, object]) -> str:
    """A short card from a guide's front matter, so fee, time and place are searchable and citable."""
    labels = [
        ("codes", "Mã thủ tục"),
        ("level", "Cấp thực hiện"),
        ("agency", "Cơ quan, nơi nộp"),
        ("fee", "Phí, lệ phí"),
        ("processing_time", "Thời hạn giải quyết"),
        ("online", "Nộp trực tuyến"),
        ("aliases", "Tên gọi khác"),
    ]
    lines = []
    for key, label in labels:
        value = meta.get(key)
        if value:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            lines.append(f"- {label}: {shown}")
    return "\n".join(lines)


def parse_markdown(text: str) -> ParsedText:
    front, body = front_matter(text)
    parsed = split_sections(body)
    for key, value in front.items():
        parsed.meta[key] = value
    if front.get("title"):
        parsed.title = str(front["title"])
    if front.get("kind") == "procedure" and (summary := _summary(front)):
        parsed.sections.insert(0, (SUMMARY_SECTION, summary))
    return parsed


def _load_pdf(path: Path) -> ParsedText:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text(extraction_mode="layout") or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"PDF hỏng hoặc không đọc được: {exc}") from exc
    parsed = ParsedText(title=str((reader.metadata or {}).get("/Title") or "") if reader else "")
    for number, page in enumerate(pages, start=1):
        cleaned = "\n".join(re.sub(r"[ \t]{2,}", " ", line).strip() for line in page.splitlines())
        cleaned = re.sub(r"\n{3,}", "\n\n", cleaned).strip()
        if cleaned:
            parsed.sections.append((f"Trang {number}", cleaned))
    if not parsed.sections:
        raise LoadError("PDF không có chữ trích xuất được (có thể là bản scan)")
    return parsed


def _load_docx(path: Path) -> ParsedText:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoadError(f"DOCX hỏng hoặc không phải tệp Word: {exc}") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise LoadError(
            f"DOCX giải nén ra {unpacked // 2**20} MB, vượt giới hạn {MAX_UNPACKED_BYTES // 2**20} MB"
        )
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, ValueError, KeyError, OSError) as exc:
        raise LoadError(f"DOCX hỏng hoặc không phải tệp Word: {exc}") from exc
    except Exception as exc:  # zipfile.BadZipFile and lxml errors have no common base
        raise LoadError(f"DOCX hỏng hoặc không phải tệp Word: {exc}") from exc
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "").lower()
            if not text:
                continue
            if style == "title" or style == "heading 1":
                lines.append(f"# {text}")
            elif style.startswith("heading"):
                lines.append(f"## {text}")
            else:
                lines.append(text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [cell.text.strip() for cell in row.cells]
                lines.append(" | ".join(dict.fromkeys(c for c in cells if c)))
    parsed = split_sections("\n".join(lines))
    if not parsed.title and document.core_properties.title:
        parsed.title = document.core_properties.title
    return parsed


def _load_html(path: Path) -> ParsedText:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    for level, tag_names in (("# ", ["h1"]), ("## ", ["h2", "h3"])):
        for tag in soup.find_all(tag_names):
            tag.replace_with(f"\n{level}{tag.get_text(' ', strip=True)}\n")
    for tag in soup.find_all(["p", "li", "tr", "div", "br"]):
        tag.insert_after("\n")
    text = re.sub(r"\n\s*\n+", "\n", soup.get_text())
    parsed = split_sections(text)
    parsed.title = parsed.title or title
    return parsed


def load_file(path: Path, root: Path) -> list[Document]:
    """Load one file as section Documents. Raises LoadError with a reason a person can act on."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(f"định dạng '{suffix}' không được hỗ trợ")
    if suffix == ".pdf":
        parsed = _load_pdf(path)
    elif suffix == ".docx":
        parsed = _load_docx(path)
    elif suffix in {".html", ".htm"}:
        parsed = _load_html(path)
    else:
        parsed = parse_markdown(_read_text(path))
    documents = _to_documents(parsed, path, root)
    if not documents:
        raise LoadError("không có nội dung văn bản")
    return documents


def origin_of(meta: dict[str, object]) -> str:
    """'guide' (a curated plain-language guide), 'record' (an official portal record: metadata lines,
    no front matter), 'report', or 'other' (an uploaded notice, a PDF...)."""
    if meta.get("kind") == "procedure":
        return "guide"
    if meta.get("kind") == "report":
        return "report"
    return "record" if meta.get("code") and not meta.get("kind") else "other"


def record_card(meta: dict[str, object], sections: list[tuple[str, str]]) -> str:
    """A short card for an official record, as guides have one: its code, level, field, agency, and
    the time and fee of each way of filing, read from 'Cách thức thực hiện'."""
    lines = [
        f"- {label}: {meta[key]}"
        for key, label in (
            ("code", "Mã thủ tục"),
            ("level", "Cấp thực hiện"),
            ("field", "Lĩnh vực"),
            ("agency", "Cơ quan, nơi nộp"),
            ("audience", "Đối tượng thực hiện"),
        )
        if meta.get(key) and "không có thông tin" not in str(meta[key]).lower()
    ]
    channels = next((body for name, body in sections if fold(name).lower().startswith("cach thuc")), "")
    times, fees = [], []
    for match in _CHANNEL.finditer(channels):
        times.append(f"{match['channel']}: {match['time'].strip()}")
        fees.append(f"{match['channel']}: {match['fee'].strip()}")
    for label, values in (("Thời hạn giải quyết", times), ("Phí, lệ phí", fees)):
        unique = list(dict.fromkeys(v.split(": ", 1)[1][:CARD_VALUE_CHARS] for v in values))
        if len(unique) == 1:
            lines.append(f"- {label}: {unique[0]}")
        elif unique:  # several ways of filing or cases: the section itself says which is which
            lines.append(
                f"- {label}: {'; '.join(unique[:3])}"
                + (" (xem Cách thức thực hiện)" if len(unique) > 3 else "")
            )
    return "\n".join(lines)


def _to_documents(parsed: ParsedText, path: Path, root: Path) -> list[Document]:
    meta = parsed.meta
    title = normalize(plain_text(parsed.title or path.stem))[:MAX_META_CHARS]
    codes = meta.get("codes") or meta.get("code") or ""
    origin = origin_of(meta)
    kind = str(meta.get("kind") or ("procedure" if meta.get("code") else "other"))
    if origin == "record" and (card := record_card(meta, parsed.sections)):
        parsed.sections.insert(0, (SUMMARY_SECTION, card))
    aliases = [*map(str, meta.get("aliases") or []), *everyday_names(title)]
    level = normalize(str(meta.get("level") or ""))
    sources = meta.get("sources") or []
    url = safe_url(str(meta.get("url") or (sources[0] if isinstance(sources, list) and sources else "")))
    base = {
        "doc_id": str(meta.get("id") or path.stem),
        "source": path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name,
        "title": title,
        "kind": kind,
        "field": normalize(str(meta.get("field") or "")),
        "level": level,
        "code": ", ".join(map(str, codes)) if isinstance(codes, list) else str(codes),
        "url": url,
        "aliases": normalize(ALIAS_SEPARATOR.join(dict.fromkeys(aliases))),
        "origin": origin,
        **level_flags(level),
    }
    sections, flagged = [], []
    for section, body in parsed.sections:
        text, left_out = without_suspicious_lines(plain_text(normalize(body)))
        flagged += left_out
        if text.strip():
            sections.append((normalize(plain_text(section))[:MAX_META_CHARS], text))
    if flagged:  # the whole document is marked, so that it ranks after every unflagged one
        base["flagged"] = " | ".join(flagged)[:MAX_META_CHARS]
    return [Document(page_content=text, metadata={**base, "section": name}) for name, text in sections]
