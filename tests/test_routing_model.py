"""The shipped routing models (assistant/data/models) are what eval/train_routing.py makes from the
tuning sets, on the corpus alone and with the record subset: retraining here gives the same threshold
and the same first choices."""

import json
import shutil
import subprocess
import sys

import lightgbm
import numpy as np

from assistant.pipeline.confidence import Confidence, Logistic, question_features
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
    shipped = Confidence.shipped()
    retrained_data = json.loads((out / "routing.json").read_text(encoding="utf-8"))
    retrained = Confidence(
        Logistic.from_dict(retrained_data["in_scope"]),
        float(retrained_data["threshold"]),
        Logistic.from_dict(retrained_data["not_in_kb"]),
    )
    assert abs(retrained.threshold - shipped.threshold) <= 0.03
    # Both rankers put the same document first, and both confidence models decide alike (answer or
    # refuse, and why), for the tuning questions.
    old = lightgbm.Booster(model_file=str(MODELS / "procedure_ranker.txt"))
    new = lightgbm.Booster(model_file=str(out / "procedure_ranker.txt"))
    snapshot = corpus_assistant.snapshot()
    names = corpus_assistant.retriever.procedures.names(snapshot)
    rows = [json.loads(line) for line in (ROOT / "eval" / "faq_routing.jsonl").read_text().splitlines()]
    same_first = same_decision = 0
    for row in rows:
        question = corpus_assistant.understand(row["question"], snapshot)
        found = corpus_assistant.retriever.search(question, snapshot, 10)
        features = np.vstack([c.features for c in found.candidates])
        same_first += int(np.argmax(old.predict(features)) == np.argmax(new.predict(features)))
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
    assert same_first / len(rows) >= 0.97, same_first / len(rows)
    assert same_decision / len(rows) >= 0.95, same_decision / len(rows)
