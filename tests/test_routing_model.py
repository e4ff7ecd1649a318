"""The shipped routing models (assistant/data/models) are what eval/train_routing.py makes from the
tuning sets, on the corpus alone and with the record subset: retraining here gives mostly the same
first choices, first choices as often right, the same answer-or-refuse decisions, and as few false
refusals.

Not byte-identical trees: dense cosines differ in their last bits from one CPU to another, LightGBM's
bin edges move with them, and near-tied candidates then swap (about 3% of first choices on the tuning
questions between two machines, with the share right the same to a point)."""

import json
import shutil
import subprocess
import sys

import lightgbm
import numpy as np

from assistant.evaluation.runner import label_resolver
from assistant.pipeline.confidence import Confidence, question_features
from tests.conftest import EMBEDDING_CACHE, ROOT

MODELS = ROOT / "assistant" / "data" / "models"


def test_retraining_reproduces_the_shipped_models(corpus_assistant, dvc_assistant, records_dir, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(corpus_assistant.settings.index_dir, index)
    records_index = tmp_path / "records-index"
    shutil.copytree(dvc_assistant.settings.index_dir, records_index)
    out = tmp_path / "models"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "eval" / "train_routing.py"),
            "--index",
            str(index),
            "--records-index",
            str(records_index),
            "--records-dir",
            str(records_dir),
            "--embedding-cache",
            str(EMBEDDING_CACHE),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shipped, retrained = Confidence.shipped(), Confidence.load(out)
    # Both rankers put the same document first, and both confidence models decide alike (answer or
    # refuse, and why), for the tuning questions.
    old = lightgbm.Booster(model_file=str(MODELS / "procedure_ranker.txt"))
    new = lightgbm.Booster(model_file=str(out / "procedure_ranker.txt"))
    snapshot = corpus_assistant.snapshot()
    names = corpus_assistant.retriever.procedures.names(snapshot)
    resolve = label_resolver(snapshot)
    rows = [
        json.loads(line)
        for name in ("faq_routing.jsonl", "faq_procedures.jsonl")
        for line in (ROOT / "eval" / name).read_text().splitlines()
    ]
    same_first = same_decision = right_old = right_new = answerable = 0
    refused = {"answerable": [0, 0, 0], "others": [0, 0, 0]}  # by shipped, by retrained, questions
    for row in rows:
        question = corpus_assistant.understand(row["question"], snapshot)
        found = corpus_assistant.retriever.search(question, snapshot, 10)
        features = np.vstack([c.features for c in found.candidates])
        first_old, first_new = (int(np.argmax(model.predict(features))) for model in (old, new))
        same_first += int(first_old == first_new)
        relevant = {doc for label in row.get("relevant", []) for doc in resolve(label)}
        if relevant and row.get("expect", "answer") == "answer":
            answerable += 1
            right_old += int(found.candidates[first_old].doc_id in relevant)
            right_new += int(found.candidates[first_new].doc_id in relevant)
        signals = question_features(
            question, found.candidates, names, corpus_assistant.policy._off_topic_margin(found)
        )
        decisions = [
            (
                model.in_scope.probability(signals) >= model.threshold,
                model.not_in_kb.probability(signals) >= 0.5,
            )
            for model in (shipped, retrained)
        ]
        same_decision += int(
            decisions[0][0] == decisions[1][0] and (decisions[0][0] or decisions[0] == decisions[1])
        )
        if row.get("expect", "answer") != "answer" or relevant:
            group = refused["answerable" if relevant else "others"]
            for n, (answers, _) in enumerate(decisions):
                group[n] += int(not answers)
            group[2] += 1
    assert same_first / len(rows) >= 0.93, same_first / len(rows)
    assert right_new / answerable >= right_old / answerable - 0.02, (right_old, right_new, answerable)
    assert same_decision / len(rows) >= 0.95, same_decision / len(rows)
    # The threshold itself is not compared: it is the highest one that refuses at most 2% of answerable
    # questions out of fold, and that curve is flat there (0.24 and 0.41 from two runs whose vectors
    # differed in the last bit). What users meet is compared instead: about as few false refusals, and
    # about as many refusals of what the knowledge base does not hold.
    false_old, false_new = (n / refused["answerable"][2] for n in refused["answerable"][:2])
    kept_old, kept_new = (n / refused["others"][2] for n in refused["others"][:2])
    assert false_new <= max(0.03, false_old + 0.01), (false_old, false_new)
    assert kept_new >= kept_old - 0.05, (kept_old, kept_new)
