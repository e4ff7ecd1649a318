"""The schema every shipped knowledge-base document follows (see docs/corpus-format.md)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.ingest.loaders import front_matter, split_sections

GUIDE_SECTIONS = (
    "Ai thực hiện",
    "Thành phần hồ sơ",
    "Trình tự thực hiện",
    "Thời hạn giải quyết",
    "Phí và lệ phí",
    "Nơi nộp hồ sơ",
    "Kết quả",
    "Căn cứ pháp lý",
    "Lưu ý thường gặp",
)
_PORTAL_CODE = re.compile(r"^\d\.\d{6}$")


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=5)
    field: str = Field(min_length=2)
    level: Literal["Cấp xã", "Cấp tỉnh"]
    sources: list[str] = Field(min_length=1)
    checked: dt.date


class ProcedureGuide(_Common):
    kind: Literal["procedure"]
    agency: str = Field(min_length=10)
    codes: list[str] = Field(min_length=1)
    fee: str = Field(min_length=3)
    processing_time: str = Field(min_length=3)
    online: str = Field(min_length=3)
    aliases: list[str] = Field(default_factory=list)

    @field_validator("codes")
    @classmethod
    def _portal_codes(cls, codes: list[str]) -> list[str]:
        bad = [c for c in codes if not _PORTAL_CODE.match(c)]
        if bad:
            raise ValueError(f"not portal procedure codes: {bad}")
        return codes


class Report(_Common):
    kind: Literal["report"]
    published: dt.date | None = None


def read_document(path: Path) -> tuple[ProcedureGuide | Report, list[str]]:
    """Validate one corpus file; return its front matter model and its body section names in order."""
    front, body = front_matter(path.read_text(encoding="utf-8"))
    model = ProcedureGuide if front.get("kind") == "procedure" else Report
    sections = [name for name, _ in split_sections(body).sections]
    return model.model_validate(front), sections
