"""Append-only pack files that versions share, in the index's ``packs/`` folder.

A version's big per-chunk data (unit vectors, chunk texts, lexical forms) used to be written whole into
every version, so publishing one document at 100,000 chunks rewrote about 360 MB it had not changed
(eval/README.md, "Versions share their vectors"). Such data now lives in packs: a publish appends its
new rows to the served version's pack, and the version records where its own rows are and how much of
the pack it may read. Appending never changes bytes an earlier version reads. A publish that finds the
pack would waste too much on rows nobody serves (replaced or removed documents') writes a fresh one
named after itself, and a pack no kept version names is deleted.
"""

from __future__ import annotations

import json
from pathlib import Path

PACKS = "packs"  # in the index folder
# Files in a version that name its packs: {"pack": name, ...} for vectors, {kind: {"pack": name, ...}}
# for line files.
VECTOR_POINTER = "vectors.json"
LINE_POINTER = "lines.json"


def folder(staging: Path) -> Path:
    """The packs folder of the index a version is being built in."""
    packs = staging.parent.parent / PACKS
    packs.mkdir(exist_ok=True)
    return packs


def appendable(file: Path | None, readable: int, added: int, live: int, waste: float) -> bool:
    """Whether the next version appends ``added`` units to ``file`` (of which the served version reads
    ``readable``) rather than writing a fresh pack: when at most ``waste`` of the pack would be units
    the next version does not serve (``live`` is what it serves)."""
    in_a_pack = file is not None and file.parent.name == PACKS
    return in_a_pack and readable + added - live <= waste * (readable + added)


def append(file: Path, readable: int, data: bytes) -> None:
    """Add ``data`` after the first ``readable`` bytes. Anything past them was appended by a publish
    that died before CURRENT moved: no version reads it, and it is cut off first."""
    with file.open("r+b") as out:
        out.truncate(readable)
        out.seek(readable)
        out.write(data)


def named(version: Path) -> set[str]:
    """The packs a version reads."""
    names: set[str] = set()
    if (version / VECTOR_POINTER).exists():
        names.add(json.loads((version / VECTOR_POINTER).read_text(encoding="utf-8"))["pack"])
    if (version / LINE_POINTER).exists():
        kinds = json.loads((version / LINE_POINTER).read_text(encoding="utf-8"))
        names.update(entry["pack"] for entry in kinds.values())
    return names


def prune(index_dir: Path, versions: list[Path]) -> None:
    """Delete the packs that none of ``versions`` reads (after older versions were deleted)."""
    used = set().union(*(named(v) for v in versions))
    packs = index_dir / PACKS
    if packs.exists():
        for pack in packs.iterdir():
            if pack.name not in used:
                pack.unlink(missing_ok=True)
