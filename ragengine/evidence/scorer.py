"""The evidence scorer: P(a sentence holds or completes the answer | question, its passage context).

A logistic model over ``features.FEATURES`` (standardised), trained by ``ragengine
train-evidence`` and shipped as ``weights/evidence-v1.json``. The file's sha256 is recorded in
``weights/MODEL_CARD.md`` and in ``WEIGHTS_SHA256`` below and checked before use, so a weights
file that was edited or damaged is an error, not a silently different engine.

Cost: featurising (~2-5 ms for 150 sentences on one core) and one matrix-vector product.

>>> scorer = EvidenceScorer()                                            # doctest: +SKIP
>>> p = scorer.score("When was Sky launched?", [["Sky was launched in 1998."]], [1.0], [0])  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import IndexCorrupted, InvalidInput
from ragengine.evidence.features import FEATURES, featurize
from ragengine.paths import sha256_file

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "evidence-v1.json"
WEIGHTS_SHA256 = "cbc00a4565be1f0a7108c7e61a75705e654ac99b37014f20cd3c13a416d887f4"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def check_model(model: dict[str, Any], where: str) -> dict[str, Any]:
    """``model`` if it names ``FEATURES`` in order with finite coefficients, else IndexCorrupted."""
    if list(model.get("features", [])) != list(FEATURES):
        raise IndexCorrupted(
            f"{where}: its features do not match this version's; retrain with ragengine train-evidence"
        )
    for key in ("mean", "scale", "coef"):
        arr = np.asarray(model.get(key, []), dtype=np.float64)
        if arr.shape != (len(FEATURES),) or not np.all(np.isfinite(arr)):
            raise IndexCorrupted(f"{where}: {key!r} must be {len(FEATURES)} finite numbers")
    return model


@lru_cache(maxsize=4)
def _load(path: str, expect: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    p = Path(path)
    if not p.is_file():
        raise IndexCorrupted(f"evidence weights {p} are missing; reinstall ragengine or run ragengine train-evidence")
    if expect and sha256_file(p) != expect:
        raise IndexCorrupted(
            f"evidence weights {p} do not match their recorded sha256 {expect[:12]}...; reinstall ragengine"
        )
    model = check_model(json.loads(p.read_text(encoding="utf-8")), str(p))
    mean = np.asarray(model["mean"], dtype=np.float64)
    scale = np.asarray(model["scale"], dtype=np.float64)
    coef = np.asarray(model["coef"], dtype=np.float64)
    return mean, scale, coef, float(model.get("threshold", 0.5))


class EvidenceScorer:
    """Scores sentences; ``path=None`` loads the shipped weights and checks their sha256."""

    name = "evidence-v1"

    def __init__(self, path: str | Path | None = None) -> None:
        if path is not None and not isinstance(path, str | Path):
            raise InvalidInput(f"evidence weights must be a path, got {type(path).__name__}")
        self.path = Path(path) if path is not None else DEFAULT_WEIGHTS
        self._expect = WEIGHTS_SHA256 if path is None else ""

    @property
    def threshold(self) -> float:
        """The probability above which a sentence is kept by threshold pruning (from training)."""
        return _load(str(self.path), self._expect)[3]

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        mean, scale, coef, _ = _load(str(self.path), self._expect)
        return sigmoid(((rows - mean) / scale) @ coef)

    def score(
        self, question: str, passages: Sequence[Sequence[str]], scores: Sequence[float], ranks: Sequence[int]
    ) -> np.ndarray:
        """One probability per sentence, passages in order and sentences in order within each."""
        rows = featurize(question, passages, scores, ranks)
        if rows.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        return self.probabilities(rows)
