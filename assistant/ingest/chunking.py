"""Section-aware chunking: a chunk never straddles two sections and knows its document and section."""

from __future__ import annotations

from collections.abc import Iterable

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter


def chunk_documents(sections: Iterable[Document], chunk_chars: int, overlap: int) -> list[Document]:
    """Split each section Document on its own; number chunks per document as 'doc_id::n'."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_chars,
        chunk_overlap=overlap,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
    )
    chunks: list[Document] = []
    counters: dict[str, int] = {}
    for section in sections:
        doc_id = section.metadata["doc_id"]
        pieces = (
            [section.page_content]
            if len(section.page_content) <= chunk_chars
            else (splitter.split_text(section.page_content))
        )
        for piece in pieces:
            number = counters.get(doc_id, 0)
            counters[doc_id] = number + 1
            chunks.append(
                Document(page_content=piece, metadata={**section.metadata, "chunk_id": f"{doc_id}::{number}"})
            )
    return chunks


def dense_text(chunk: Document) -> str:
    """What the embedder sees: title and section give the passage its context; no metadata noise."""
    meta = chunk.metadata
    return f"{meta['title']}\n{meta['section']}\n{chunk.page_content}"


def lexical_text(chunk: Document) -> str:
    """What BM25 sees: the passage plus the searchable metadata (code, field, aliases)."""
    meta = chunk.metadata
    extras = " ".join(str(meta.get(key, "")) for key in ("code", "field", "aliases"))
    return f"{dense_text(chunk)}\n{extras}"


def name_text(meta: dict) -> str:
    """How a document names itself: its title and the names citizens use for it (aliases). Embedded
    once per document so that a question can be compared with the procedure's name alone."""
    aliases = meta.get("aliases", "")
    return f"{meta['title']}\n{aliases}" if aliases else meta["title"]
