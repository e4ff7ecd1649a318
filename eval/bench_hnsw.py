"""Would Chroma's approximate HNSW search do instead of exact dense search at scale? Recall@10 of HNSW
against exact cosine for real FAQ questions, per HNSW setting, with query time.

    .venv/bin/python eval/bench_hnsw.py --index DIR [--size 100000] [--faq FILE ...] [--out FILE]

The index's own chunk vectors are searched. Past its size the collection is filled with distractors
made from its vectors (each a real vector turned by random noise to cosine about 0.9 with it), so the
questions' true neighbours must be found among ``--size`` vectors as dense as real text is; that is
harder for HNSW than the same number of distinct passages, not easier. No embedding of new text is
needed, so the point at 100k costs minutes, not the hours a real 100k corpus takes to embed here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import chromadb
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_report import emit  # noqa: E402  (eval/, the script's folder)

from assistant.config import Settings  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.store.vectors import CHROMA_BATCH, HNSW, chroma_settings  # noqa: E402

# (M, construction_ef, search_ef): the shipped cheap build, Chroma's defaults, then stronger ones.
SETTINGS = (
    (HNSW["hnsw:M"], HNSW["hnsw:construction_ef"], 10),
    (16, 100, 10),
    (16, 100, 64),
    (16, 100, 128),
    (32, 200, 128),
)
DISTRACTOR_COSINE = 0.9
TOP = 10


def with_distractors(vectors: np.ndarray, size: int, seed: int = 7) -> np.ndarray:
    """``vectors`` followed by distractors up to ``size`` rows, each a real vector turned by a random
    direction so that its cosine with it is DISTRACTOR_COSINE; all rows unit length."""
    rng = np.random.default_rng(seed)
    extra = max(0, size - len(vectors))
    base = vectors[rng.integers(0, len(vectors), extra)]
    noise = rng.standard_normal(base.shape).astype(np.float32)
    noise -= np.sum(noise * base, axis=1, keepdims=True) * base  # orthogonal to the base vector
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    angle = np.arccos(DISTRACTOR_COSINE)
    turned = np.cos(angle) * base + np.sin(angle) * noise
    return np.vstack([vectors, turned.astype(np.float32)])


def exact_top(vectors: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    scores = np.einsum("ij,qj->qi", vectors, queries)
    return [set(np.argpartition(-row, TOP)[:TOP].tolist()) for row in scores]


def hnsw_recall(
    vectors: np.ndarray,
    queries: np.ndarray,
    truth: list[set[int]],
    m: int,
    build_ef: int,
    search_ef: int,
    folder: Path,
) -> dict:
    client = chromadb.PersistentClient(
        path=str(folder / f"hnsw-{m}-{build_ef}-{search_ef}"), settings=chroma_settings()
    )
    collection = client.create_collection(
        "bench",
        embedding_function=None,
        metadata={
            "hnsw:space": "cosine",
            "hnsw:M": m,
            "hnsw:construction_ef": build_ef,
            "hnsw:search_ef": search_ef,
        },
    )
    started = time.perf_counter()
    for start in range(0, len(vectors), CHROMA_BATCH):
        block = vectors[start : start + CHROMA_BATCH]
        collection.add(ids=[str(i) for i in range(start, start + len(block))], embeddings=block)
    built = time.perf_counter() - started
    found, latencies = [], []
    for query in queries:
        started = time.perf_counter()
        ids = collection.query(query_embeddings=[query], n_results=TOP)["ids"][0]
        latencies.append((time.perf_counter() - started) * 1000)
        found.append({int(i) for i in ids})
    client.close()
    recall = float(np.mean([len(f & t) / TOP for f, t in zip(found, truth, strict=True)]))
    return {
        "M": m,
        "construction_ef": build_ef,
        "search_ef": search_ef,
        "recall_at_10": round(recall, 4),
        "questions_all_ten_found": round(
            float(np.mean([f == t for f, t in zip(found, truth, strict=True)])), 4
        ),
        "build_s": round(built, 1),
        "query_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "query_p95_ms": round(float(np.percentile(latencies, 95)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, required=True, help="an index folder (its served version)")
    parser.add_argument("--size", type=int, default=100_000, help="vectors searched, distractors included")
    parser.add_argument(
        "--faq",
        type=Path,
        nargs="+",
        default=[ROOT / "eval" / "faq_procedures.jsonl", ROOT / "eval" / "faq_records.jsonl"],
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    assistant = Assistant(Settings(index_dir=args.index))
    snapshot = assistant.snapshot()
    questions = [json.loads(line)["question"] for f in args.faq for line in f.read_text().splitlines()]
    queries = np.vstack(
        [assistant.retriever.dense.embed(assistant.understand(q, snapshot)) for q in questions]
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    vectors = with_distractors(snapshot.vectors, args.size)
    truth = exact_top(vectors, queries)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-hnsw-") as folder:
        for m, build_ef, search_ef in SETTINGS:
            rows.append(hnsw_recall(vectors, queries, truth, m, build_ef, search_ef, Path(folder)))
            print(json.dumps(rows[-1]), flush=True)
    result = {
        "index_chunks": len(snapshot.ids),
        "vectors": len(vectors),
        "questions": len(questions),
        "distractor_cosine": DISTRACTOR_COSINE,
        "settings": rows,
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
