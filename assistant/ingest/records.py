"""Official procedure records (the national portal's export, one Markdown file per portal code) kept in
step with the index and with the curated guides.

``sync`` compares a records folder with what the index holds and reports new, changed and removed
records; guides whose record changed after the guide was last checked (stale: a fee or a deadline may
be out of date); and ward-level records that no guide covers. It remembers when each record's content
last changed in ``INDEX_DIR/records-state.json``, so a stale guide stays reported until it is checked
again. Unless asked for a dry run, the changed records are then re-indexed incrementally.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.ingest.loaders import front_matter
from assistant.store.embedding_cache import sha256

STATE_FILE = "records-state.json"
_TITLE = re.compile(r"^# (.+)$", re.MULTILINE)
_CODE = re.compile(r"^- Mã thủ tục: (\S+)", re.MULTILINE)
_LEVEL = re.compile(r"^- Cấp thực hiện: (.+)$", re.MULTILINE)


@dataclass
class Record:
    code: str
    title: str
    level: str
    sha256: str
    path: str


@dataclass
class SyncReport:
    new: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    stale: list[dict] = field(default_factory=list)  # guides: code, title, guide, checked, record_changed
    uncovered: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def read_records(folder: Path) -> dict[str, Record]:
    """Every record of a folder by portal code (the first lines of each file are enough)."""
    found: dict[str, Record] = {}
    for path in sorted(folder.glob("*.md")):
        data = path.read_bytes()
        head = data[:4096].decode("utf-8", errors="replace")
        code = _CODE.search(head)
        if not code:
            continue
        title, level = _TITLE.search(head), _LEVEL.search(head)
        found[code.group(1)] = Record(
            code=code.group(1),
            title=title.group(1).strip() if title else path.stem,
            level=level.group(1).strip() if level else "",
            sha256=sha256(data),
            path=str(path.resolve()),
        )
    return found


@dataclass
class Guide:
    doc_id: str
    title: str
    codes: list[str]
    checked: dt.date | None


def guides_of(manifest_files: dict[str, dict]) -> list[Guide]:
    """The curated guides the index holds, with the date each was last checked (from its front matter)."""
    guides = []
    for path in manifest_files:
        file = Path(path)
        if file.suffix != ".md" or not file.exists():
            continue
        try:
            meta, _ = front_matter(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if meta.get("kind") == "procedure":
            checked = meta.get("checked")
            codes = [str(c) for c in meta.get("codes") or []]
            day = checked if isinstance(checked, dt.date) else None
            guides.append(Guide(str(meta.get("id", file.stem)), str(meta.get("title", "")), codes, day))
    return guides


def compare(
    folder: Path, manifest_files: dict[str, dict], guides: list[Guide], state: dict[str, dict], today: dt.date
) -> SyncReport:
    """The report, and ``state`` updated with the records whose content changed today."""
    report = SyncReport()
    records = read_records(folder)
    root = str(folder.resolve())
    indexed = {path: entry for path, entry in manifest_files.items() if entry.get("root") == root}
    by_path = {r.path: r for r in records.values()}
    for record in records.values():
        entry = indexed.get(record.path)
        row = {"code": record.code, "title": record.title}
        if entry is None:
            report.new.append(row)
        elif entry["sha256"] != record.sha256:
            report.changed.append(row)
        # What the record was before: as last synced, or as the index holds it.
        before = (state.get(record.code) or {}).get("sha256") or (entry or {}).get("sha256")
        changed_at = (state.get(record.code) or {}).get("changed_at")
        if before and before != record.sha256:
            changed_at = today.isoformat()
        state[record.code] = {"sha256": record.sha256, "changed_at": changed_at}
    report.removed = [
        {"code": entry.get("doc_id", ""), "title": entry.get("source", "")}
        for path, entry in indexed.items()
        if path not in by_path
    ]
    guided = {code for guide in guides for code in guide.codes}
    for guide in guides:
        for code in guide.codes:
            changed_at = (state.get(code) or {}).get("changed_at")
            if changed_at and guide.checked and dt.date.fromisoformat(changed_at) > guide.checked:
                report.stale.append(
                    {
                        "code": code,
                        "title": guide.title,
                        "guide": guide.doc_id,
                        "checked": guide.checked.isoformat(),
                        "record_changed": changed_at,
                    }
                )
    report.uncovered = [
        {"code": r.code, "title": r.title}
        for r in records.values()
        if "cấp xã" in r.level.lower() and r.code not in guided
    ]
    return report


def load_state(index_dir: Path) -> dict[str, dict]:
    try:
        return json.loads((index_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_state(index_dir: Path, state: dict[str, dict]) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    temporary = index_dir / f".{STATE_FILE}.tmp"
    temporary.write_text(json.dumps(state, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    temporary.replace(index_dir / STATE_FILE)


def stale_codes(index_dir: Path, guides: list[Guide]) -> set[str]:
    """Codes of guides whose record changed after the guide was checked, from the remembered state."""
    state = load_state(index_dir)
    return {
        code
        for guide in guides
        for code in guide.codes
        if (changed := (state.get(code) or {}).get("changed_at"))
        and guide.checked
        and dt.date.fromisoformat(changed) > guide.checked
    }
