"""One published, read-only version of the index as a request sees it: chunk texts and metadata in row
order, the BM25 fields, the unit vectors, the accent restorer, and a small index of document names.
A request pins one snapshot and passes it to every stage, so an ingest that publishes meanwhile
cannot mix two versions in one answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import numpy as np

from assistant.store.accents import AccentModel
from assistant.store.chunks import ChunkTexts, document_words
from assistant.store.terms import TermIndex
from assistant.store.vector_pack import RowVectors
from assistant.text import PORTAL_CODE, fold, folded_tokens, tokens

# Folded words that name a level of government or an authority in a procedure's title: two titles equal
# but for these are one procedure handled at two levels.
BRACKETED = re.compile(r"\([^)]*\)?")  # a remark in brackets, or its start where a title was cut
LEVEL_WORDS = frozenset(
    ("cap", "xa", "tinh", "huyen", "bo", "trung", "uong", "thuc", "hien", "tai", "do", "chu", "tich", "ubnd",
     "uy", "ban", "nhan", "dan", "phan", "cho", "thuoc", "tham", "quyen", "cua")
)  # fmt: skip


def with_bigrams(words: list[str]) -> list[str]:
    """Words plus joined neighbours, so 'đăng ký kết hôn' matches its own name better than a variant."""
    return words + [f"{a}_{b}" for a, b in pairwise(words)]


@dataclass
class Snapshot:
    """One published, read-only version of the index, loaded for searching (see the module note)."""

    path: Path
    manifest: dict
    ids: list[str]
    texts: ChunkTexts  # read from disk by row
    metadatas: list[dict]
    doc_words: dict[str, str] | None  # each document's folded words, space-separated (store/chunks.py)
    bm25_raw: TermIndex
    bm25_folded: TermIndex
    accents: AccentModel
    vectors: RowVectors  # unit length, one row per chunk (memory-mapped)
    name_vectors: np.ndarray | None  # unit length, one row per document (doc_ids order): title, aliases
    names_stored: bool = field(init=False)  # False: the version has no name vectors (zeros stand in)
    row_of: dict[str, int] = field(init=False)
    rows_of_doc: dict[str, list[int]] = field(init=False)
    fields_by_folded: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.row_of = {chunk_id: row for row, chunk_id in enumerate(self.ids)}
        self.rows_of_doc = {}
        for row, meta in enumerate(self.metadatas):
            self.rows_of_doc.setdefault(meta["doc_id"], []).append(row)
        if self.doc_words is None:  # published before versions stored them: worked out once here
            self.doc_words = {
                doc: document_words(self.texts[r] for r in rows) for doc, rows in self.rows_of_doc.items()
            }
        self.names_stored = self.name_vectors is not None and len(self.name_vectors) == len(self.rows_of_doc)
        if not self.names_stored:
            self.name_vectors = np.zeros((len(self.rows_of_doc), self.vectors.shape[-1]), dtype=np.float32)
        # Field filters match ignoring case and diacritics; folded once here, not on every search.
        fields = dict.fromkeys(m.get("field", "") for m in self.metadatas)
        self.fields_by_folded = {fold(f).lower(): f for f in fields}

    # A small per-document index of titles, aliases and codes: how people name a procedure. Built on
    # first use: a publish loads the previous version without searching it (0.7 s at 8,500 documents).

    @cached_property
    def _title_indexes(self) -> tuple[TermIndex, TermIndex]:
        names = [tokens(self._doc_name(rows[0])) for rows in self.rows_of_doc.values()]
        return (
            TermIndex.build([with_bigrams(n) for n in names]),
            TermIndex.build([with_bigrams([fold(w) for w in n]) for n in names]),
        )

    @property
    def title_bm25_raw(self) -> TermIndex:
        return self._title_indexes[0]

    @property
    def title_bm25_folded(self) -> TermIndex:
        return self._title_indexes[1]

    def _doc_name(self, row: int) -> str:
        meta = self.metadatas[row]
        return f"{meta['title']} {meta.get('aliases', '')} {meta.get('code', '')}"

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def doc_ids(self) -> tuple[str, ...]:
        return tuple(self.rows_of_doc)

    def doc_chunks(self, doc_id: str) -> list[int]:
        """Row numbers of one document's chunks, in reading order."""
        return self.rows_of_doc.get(doc_id, [])

    @cached_property
    def guide_of(self) -> dict[str, str]:
        """Official record -> the curated guide that carries its portal code: one procedure, two
        sources (the guide for plain words, the record as the legal source)."""
        guides: dict[str, str] = {}
        for doc_id in self.rows_of_doc:
            meta = self.doc_meta(doc_id)
            if meta.get("origin") == "guide":
                for code in meta.get("code", "").split(", "):
                    guides.setdefault(code, doc_id)
        return {
            doc_id: guides[self.doc_meta(doc_id)["code"]]
            for doc_id in self.rows_of_doc
            if self.doc_meta(doc_id).get("origin") == "record" and self.doc_meta(doc_id).get("code") in guides
        }

    @cached_property
    def rows_of_code(self) -> dict[str, list[int]]:
        """Portal code -> the rows of every document carrying it (a guide may carry several codes):
        looked up when a question names a code, instead of scanning every chunk's metadata (0.14 s a
        question at 112,000 chunks)."""
        found: dict[str, list[int]] = {}
        for doc_id, rows in self.rows_of_doc.items():
            for code in PORTAL_CODE.findall(self.doc_meta(doc_id).get("code", "")):
                found.setdefault(code, []).extend(rows)
        return found

    @cached_property
    def records_of(self) -> dict[str, list[str]]:
        """Guide -> the official records of its codes."""
        found: dict[str, list[str]] = {}
        for record, guide in self.guide_of.items():
            found.setdefault(guide, []).append(record)
        return found

    @cached_property
    def folded_titles(self) -> dict[str, str]:
        """Each document's title as folded words, worked out once per version for the ranker's name index
        and for the titles an answer's quoted text names (folding every title on every answer took
        0.7 s at 5,760 documents)."""
        return {
            doc_id: " ".join(folded_tokens(self.doc_meta(doc_id)["title"])) for doc_id in self.rows_of_doc
        }

    @cached_property
    def procedure_titles(self) -> dict[str, str]:
        """``folded_titles`` of the procedures alone."""
        return {d: t for d, t in self.folded_titles.items() if self.doc_meta(d).get("kind") == "procedure"}

    @cached_property
    def level_twins(self) -> dict[str, list[str]]:
        """Procedure -> the procedures that are the same one at another level of government: titles
        equal but for the words that name a level or an authority ("Trình báo mất hộ chiếu phổ thông
        (thực hiện tại cấp xã)" and "... (thực hiện tại cấp tỉnh)") and for a remark in brackets, which
        in such pairs tells the levels apart ("(thuộc địa bàn từ 02 xã trở lên)", "(phải là cán bộ
        thuộc biên chế của lực lượng Công an)"); the national database lists 48 such pairs. A guide and
        its records are one procedure here, named by the guide."""
        groups: dict[frozenset[str], list[str]] = {}
        for doc_id in self.procedure_titles:
            title = BRACKETED.sub(" ", self.doc_meta(doc_id)["title"])
            group = groups.setdefault(frozenset(folded_tokens(title)) - LEVEL_WORDS, [])
            procedure = self.guide_of.get(doc_id, doc_id)
            if procedure not in group:
                group.append(procedure)
        twins: dict[str, list[str]] = {}
        for group in groups.values():
            if len({self.is_ward_level(d) for d in group}) == 2:
                for doc_id in group:
                    twins.setdefault(doc_id, []).extend(d for d in group if d != doc_id)
        return twins

    def is_ward_level(self, doc_id: str) -> bool:
        """Whether wards (cấp xã) handle the procedure, as its level or its records' say (the loader's
        ``level_xa`` flag, which the level filter reads too)."""
        return self._has_level_flag(doc_id, "level_xa")

    def is_handled_above_ward(self, doc_id: str) -> bool:
        """Whether the province or a ministry handles the procedure (some are listed for both the
        province and its wards)."""
        return self._has_level_flag(doc_id, "level_tinh") or self._has_level_flag(doc_id, "level_bo")

    def _has_level_flag(self, doc_id: str, flag: str) -> bool:
        return any(self.doc_meta(d).get(flag) for d in [doc_id, *self.records_of.get(doc_id, [])])

    def doc_meta(self, doc_id: str) -> dict:
        """The metadata a document's chunks share (title, kind, code, aliases...)."""
        return self.metadatas[self.rows_of_doc[doc_id][0]]
