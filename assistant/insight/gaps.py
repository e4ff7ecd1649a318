"""Content gaps: what citizens asked that the assistant refused or asked back about, grouped by meaning.

Each refused or clarified ask is logged with its embedding (the one retrieval computed), so grouping
costs no model call: average-linkage clustering of the embeddings, measured from the index's mean.
A group is labelled by its most frequent topic words and shows the procedures retrieval found
nearest, so staff read "people asked 37 times about cai nghiện tự nguyện; no guide" and can mark it
handled once a guide is written.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from assistant.pipeline.question import topic_phrase
from assistant.text import fold

_PLACEHOLDER = re.compile(r"\[[^\]]{0,40}\]")
DISTANCE = 0.65  # average cosine distance (from the index's centre) that still makes one group
LABEL_WORDS = 4
EXAMPLES = 5


@dataclass
class Gap:
    key: str  # stable name of the group: its label words, folded
    label: str
    count: int
    examples: list[str]
    nearest: list[dict[str, str]]  # procedures retrieval found nearest: doc_id, title
    reasons: dict[str, int]
    handled: bool = False
    members: list[int] = field(default_factory=list, repr=False)  # log row ids

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("members")
        return data


def group(
    rows: list[dict],
    titles: dict[str, str],
    handled: set[str],
    centre: np.ndarray | None = None,
    distance: float = DISTANCE,
) -> list[Gap]:
    """Refused and clarified asks grouped by meaning, largest group first. Embeddings of Vietnamese
    questions about public services all sit close together; measured from the index's mean vector
    (``centre``) they spread out, and average-linkage clustering cuts the tree at ``distance``."""
    asked = [r for r in rows if r["status"] in ("refused", "clarify") and r.get("vector")]
    if not asked:
        return []
    vectors = np.vstack([np.frombuffer(r["vector"], dtype=np.float32) for r in asked]).astype(np.float64)
    if centre is not None and len(centre) == vectors.shape[1]:
        vectors = vectors - centre
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    labels = [1] if len(asked) == 1 else fcluster(linkage(vectors, "average", "cosine"), distance, "distance")
    members: dict[int, list[dict]] = {}
    for row, label in zip(asked, labels, strict=True):
        members.setdefault(int(label), []).append(row)
    gaps = [_gap(group_rows, titles) for group_rows in members.values()]
    for gap in gaps:
        gap.handled = gap.key in handled
    return sorted(gaps, key=lambda g: (g.handled, -g.count))


def _gap(rows: list[dict], titles: dict[str, str]) -> Gap:
    words: Counter = Counter()
    shown: dict[str, str] = {}
    for row in rows:
        text = _PLACEHOLDER.sub(" ", row["question"])  # "[số điện thoại]" is redaction, not a topic
        for word in dict.fromkeys(topic_phrase(text).lower().split()):
            words[fold(word)] += 1
            shown.setdefault(fold(word), word)
    top = [w for w, _ in words.most_common()][:LABEL_WORDS]
    nearest = Counter(doc for row in rows for doc in json.loads(row["candidates"] or "[]")[:2])
    return Gap(
        key="-".join(sorted(top)) or f"nhom-{rows[0]['id']}",
        label=" ".join(shown[w] for w in top),
        count=len(rows),
        examples=[row["question"] for row in rows[:EXAMPLES]],
        nearest=[{"doc_id": d, "title": titles.get(d, d)} for d, _ in nearest.most_common(3)],
        reasons=dict(Counter(row["reason"] for row in rows)),
        members=[row["id"] for row in rows],
    )
