"""The BM25 fields a version stores (store/terms.py) against bm25s, the library they replaced: the same
scores to the bit, so rankings and the routing models trained on them do not move; and a field
extended from the previous version equals one built afresh."""

import json
import random
from pathlib import Path

import bm25s
import numpy as np
import pytest

from assistant.store.terms import TermIndex
from assistant.text import fold, normal_lower, words

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def passages() -> list[list[str]]:
    """The shipped guides cut at blank lines, as accented words."""
    found = []
    for path in sorted((ROOT / "corpus").rglob("*.md")):
        found += [words(normal_lower(p)) for p in path.read_text(encoding="utf-8").split("\n\n")]
    return [p for p in found if p]


@pytest.fixture(scope="module")
def questions() -> list[list[str]]:
    lines = (ROOT / "eval" / "faq_procedures.jsonl").read_text(encoding="utf-8").splitlines()
    return [words(normal_lower(json.loads(line)["question"])) for line in lines]


def reference(docs: list[list[str]]) -> bm25s.BM25:
    bm25 = bm25s.BM25()
    bm25.index(docs, show_progress=False)
    return bm25


def test_scores_equal_bm25s_to_the_bit(passages, questions):
    ours, theirs = TermIndex.build(passages), reference(passages)
    for question in questions:
        known = [w for w in question if w in theirs.vocab_dict]
        if known:
            assert np.array_equal(ours.scores(question), theirs.get_scores(known)), question
    assert not ours.scores(["không-có-trong-chỉ-mục"]).any()
    assert ours.document_frequency("hồ") == sum("hồ" in p for p in passages)


def test_a_field_extended_from_the_previous_one_equals_one_built_afresh(passages, questions, tmp_path):
    """A publish keeps the previous rows still current, in order, and appends the new documents: the
    words only the dropped passages used leave the vocabulary, new words join it."""
    rng = random.Random(7)
    kept = sorted(rng.sample(range(len(passages)), len(passages) - 40))
    added = [passages[i] for i in rng.sample(range(len(passages)), 25)] + [["cai", "nghiện", "tự_nguyện"]]
    previous = TermIndex.build(passages)
    previous.save(tmp_path / "field")
    in_memory = TermIndex.load(tmp_path / "field").extended(kept, added)
    TermIndex.load(tmp_path / "field").extended(kept, added, tmp_path / "next")  # as a publish writes it
    fresh = TermIndex.build([passages[i] for i in kept] + added)
    gone = set(previous.vocab) - set(fresh.vocab)
    for extended in (in_memory, TermIndex.load(tmp_path / "next")):
        assert set(extended.vocab) == set(fresh.vocab) and "tự_nguyện" in extended.vocab
        assert gone and not gone & set(extended.vocab)
        for question in [*questions, [fold(w) for w in questions[0]], ["tự_nguyện", "cai"]]:
            assert np.array_equal(extended.scores(question), fresh.scores(question)), question
    # Only added documents (nothing leaves), and only removed ones.
    everything = list(range(len(passages)))
    assert np.array_equal(
        previous.extended(everything, added).scores(questions[0]),
        TermIndex.build(passages + added).scores(questions[0]),
    )
    assert np.array_equal(
        previous.extended(kept, []).scores(questions[0]),
        TermIndex.build([passages[i] for i in kept]).scores(questions[0]),
    )
    # Versions published before counts took two bytes stored them as float32: they extend the same.
    older = TermIndex(
        previous.words, previous.starts, previous.rows, previous.counts.astype(np.float32), previous.lengths
    )
    assert np.array_equal(older.extended(kept, added).scores(questions[0]), fresh.scores(questions[0]))
    assert older.extended(kept, added).counts.dtype == np.uint16
