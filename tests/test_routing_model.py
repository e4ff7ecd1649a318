"""The shipped routing models (assistant/data/models) are what eval/train_routing.py makes from the
tuning sets: retraining here gives the same threshold and the same first choices."""

import json
import shutil
import subprocess
import sys

import lightgbm
import numpy as np

from tests.conftest import EMBEDDING_CACHE, ROOT

MODELS = ROOT / "assistant" / "data" / "models"


def test_retraining_reproduces_the_shipped_models(corpus_assistant, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(corpus_assistant.settings.index_dir, index)
    out = tmp_path / "models"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "eval" / "train_routing.py"),
            "--index",
            str(index),
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
    shipped = json.loads((MODELS / "routing.json").read_text(encoding="utf-8"))
    retrained = json.loads((out / "routing.json").read_text(encoding="utf-8"))
    assert retrained["features"] == shipped["features"]
    assert abs(retrained["threshold"] - shipped["threshold"]) <= 0.02
    for model in ("in_scope", "not_in_kb"):
        assert np.allclose(retrained[model]["coef"], shipped[model]["coef"], atol=0.05), model
    # The two rankers put the same document first for the tuning questions.
    old = lightgbm.Booster(model_file=str(MODELS / "procedure_ranker.txt"))
    new = lightgbm.Booster(model_file=str(out / "procedure_ranker.txt"))
    snapshot = corpus_assistant.snapshot()
    rows = [json.loads(line) for line in (ROOT / "eval" / "faq_routing.jsonl").read_text().splitlines()]
    same = 0
    for row in rows:
        question = corpus_assistant.understand(row["question"], snapshot)
        found = corpus_assistant.retriever.search(question, snapshot, 10)
        features = np.vstack([c.features for c in found.candidates])
        same += int(np.argmax(old.predict(features)) == np.argmax(new.predict(features)))
    assert same / len(rows) >= 0.97, same / len(rows)
