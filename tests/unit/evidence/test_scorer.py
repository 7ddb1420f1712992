"""The shipped evidence scorer: its file matches the recorded sha256, damage is refused, probabilities
are probabilities, and the features say what they claim (answer-type cues, question-term recall)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragengine.errors import IndexCorrupted, InvalidInput
from ragengine.evidence.features import FEATURES, featurize, wh_class
from ragengine.evidence.scorer import DEFAULT_WEIGHTS, WEIGHTS_SHA256, EvidenceScorer
from ragengine.paths import sha256_file


def test_the_shipped_weights_match_their_recorded_hash_and_card() -> None:
    assert sha256_file(DEFAULT_WEIGHTS) == WEIGHTS_SHA256
    card = (DEFAULT_WEIGHTS.parent / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert WEIGHTS_SHA256 in card


def test_a_damaged_or_foreign_weights_file_is_refused(tmp_path: Path) -> None:
    model = json.loads(DEFAULT_WEIGHTS.read_text(encoding="utf-8"))
    bad = tmp_path / "w.json"
    bad.write_text(json.dumps({**model, "features": model["features"][:-1]}), encoding="utf-8")
    with pytest.raises(IndexCorrupted, match="features do not match"):
        EvidenceScorer(bad).score("q?", [["a b."]], [1.0], [0])
    bad.write_text(json.dumps({**model, "coef": [float("nan")] * len(FEATURES)}), encoding="utf-8")
    with pytest.raises(IndexCorrupted, match="'coef' must be"):
        EvidenceScorer(bad).probabilities(np.zeros((1, len(FEATURES))))
    with pytest.raises(IndexCorrupted, match="are missing"):
        EvidenceScorer(tmp_path / "absent.json").probabilities(np.zeros((1, len(FEATURES))))
    with pytest.raises(InvalidInput, match="must be a path"):
        EvidenceScorer(3)  # type: ignore[arg-type]


def test_probabilities_rank_the_answer_sentence_first() -> None:
    p = EvidenceScorer().score(
        "When was Sky Digital launched?",
        [["Cats purr when content.", "Sky Digital was launched in 1998."], ["The channel grew quickly."]],
        [0.5, 0.4],
        [0, 1],
    )
    assert p.shape == (3,) and np.all((p >= 0) & (p <= 1))
    assert int(np.argmax(p)) == 1


def test_answer_type_and_recall_features() -> None:
    assert wh_class("When did it open?") == "when"
    assert wh_class("In what year did it open?") == "when"
    assert wh_class("How many people live there?") == "howmany"
    assert wh_class("Who founded it?") == "who"
    assert wh_class("Where is it?") == "where"
    rows = featurize("When was Sky launched?", [["Sky was launched in 1998.", "Cats purr."]], [1.0], [0])
    col = {n: i for i, n in enumerate(FEATURES)}
    assert rows[0, col["when_year"]] == 1.0 and rows[1, col["when_year"]] == 0.0
    assert rows[0, col["wrecall"]] == 1.0 and rows[1, col["wrecall"]] == 0.0
    assert rows[1, col["prev_wrecall"]] == 1.0
    assert featurize("q?", [], [], []).shape == (0, len(FEATURES))
