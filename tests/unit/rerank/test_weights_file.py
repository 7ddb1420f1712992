"""The weights file: round trip, and a clear RerankerWeightsError when missing, corrupted or malformed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragengine.errors import RagEngineError
from ragengine.rerank.encoder import DIM
from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, RerankerWeightsError, TermWeighter, TermWeights, card_path
from ragengine.training.reranker import write_weights


def _weights(hidden: int = 0) -> TermWeights:
    rng = np.random.default_rng(0)
    if hidden:
        w1 = rng.standard_normal((DIM, hidden)).astype(np.float32)
        return TermWeights(rng.standard_normal(hidden).astype(np.float32), 0.1, w1, np.zeros(hidden, np.float32))
    return TermWeights(rng.standard_normal(DIM).astype(np.float32), 0.1, config={"train": {"seed": 0}})


@pytest.mark.parametrize("hidden", [0, 4])
def test_roundtrip_with_card(tmp_path: Path, hidden: int) -> None:
    w = _weights(hidden)
    w.config = {"train": {"seed": 3}, "fusion": {"method": "minmax", "terms": 1.0}}
    path = tmp_path / "w.npz"
    digest = write_weights(w, path, {})
    card = json.loads(card_path(path).read_text())
    assert card["sha256"] == digest and card["config"]["fusion"]["terms"] == 1.0
    back = TermWeights.load(path)
    x = np.random.default_rng(1).standard_normal((7, DIM)).astype(np.float32)
    np.testing.assert_allclose(back(x), w(x), rtol=1e-6)
    assert back.config == w.config


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(RerankerWeightsError, match=r"missing; reinstall ragengine, or rebuild .*train-reranker"):
        TermWeights.load(tmp_path / "nope.npz")
    lazy = TermWeighter(tmp_path / "nope.npz")  # light constructor: nothing loads until used
    with pytest.raises(RerankerWeightsError, match="missing"):
        lazy.passage_weights(["text"])


def test_corrupted_file_fails_the_sha256_check(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    write_weights(_weights(), path, {})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RerankerWeightsError, match="do not match the sha256"):
        TermWeights.load(path)


def test_garbage_without_card_and_bad_shapes(tmp_path: Path) -> None:
    (tmp_path / "g.npz").write_bytes(b"garbage, not a zip archive")
    with pytest.raises(RerankerWeightsError, match="unreadable"):
        TermWeights.load(tmp_path / "g.npz")
    with (tmp_path / "s.npz").open("wb") as f:
        np.savez(f, config=np.array("{}"), w2=np.zeros(10, np.float32), b2=np.array(0.0))
    with pytest.raises(RerankerWeightsError, match="wrong shapes"):
        TermWeights.load(tmp_path / "s.npz")
    with (tmp_path / "n.npz").open("wb") as f:
        np.savez(f, config=np.array("{}"), w2=np.full(DIM, np.nan, np.float32), b2=np.array(0.0))
    with pytest.raises(RerankerWeightsError, match="non-finite"):
        TermWeights.load(tmp_path / "n.npz")
    card_path(tmp_path / "c.npz").write_text("{not json")
    (tmp_path / "c.npz").write_bytes(b"x")
    with pytest.raises(RerankerWeightsError, match="card .* is unreadable"):
        TermWeights.load(tmp_path / "c.npz")
    assert issubclass(RerankerWeightsError, RagEngineError)


def test_shipped_weights_load_and_match_their_card() -> None:
    if not DEFAULT_WEIGHTS.is_file():
        pytest.fail(f"shipped weights {DEFAULT_WEIGHTS} are missing")
    w = TermWeights.load()
    card = json.loads(card_path(DEFAULT_WEIGHTS).read_text())
    assert {"sha256", "date", "config", "training_data"} <= set(card)
    assert set(w.config["fusion"]) >= {"bm25", "dense", "terms"}
    assert DEFAULT_WEIGHTS.stat().st_size < 200_000
