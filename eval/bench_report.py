"""How a benchmark hands back its figures: printed, and written to ``--out`` when given."""

from __future__ import annotations

import json
from pathlib import Path


def emit(result: dict[str, object], out: Path | None) -> None:
    text = json.dumps(result, indent=1)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    print(text)
