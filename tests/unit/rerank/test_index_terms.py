"""Index-time term files and the reranker choice: mismatched or missing term weights fail with the fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragengine.errors import IndexCorrupted, IndexMismatch, InvalidInput
from ragengine.rerank.index_terms import TERMS_META, NoReranker, get_reranker
from ragengine.rerank.sparse import TERMS_FILE, TermMatrix
from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, sha256_of
from ragengine.rerank.terms import TermReranker
from ragengine.types import Candidate, Chunk


def _folder(tmp_path: Path, sha: str) -> Path:
    m = TermMatrix.from_triples(np.array([0, 1]), np.array([2000, 3000]), np.array([1.0, 2.0]), 2, 30522)
    m.save(tmp_path / TERMS_FILE)
    (tmp_path / TERMS_META).write_text(json.dumps({"weights": "x.npz", "sha256": sha}))
    return tmp_path


def test_terms_reranker_loads_when_weights_match(tmp_path: Path) -> None:
    rr = get_reranker("terms", _folder(tmp_path, sha256_of(DEFAULT_WEIGHTS)), ["a", "b"])
    assert isinstance(rr, TermReranker)
    cands = [Candidate(Chunk(c, c, "t", 1), 1.0, i, {"bm25": 1.0}) for i, c in enumerate(["a", "b"])]
    assert len(rr.rerank("query", cands)) == 2


def test_mismatched_missing_and_unknown(tmp_path: Path) -> None:
    with pytest.raises(IndexMismatch, match="rebuild the index"):
        get_reranker("terms", _folder(tmp_path, "0" * 64), ["a", "b"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IndexCorrupted, match="--reranker none"):
        get_reranker("terms", empty, ["a"])
    with pytest.raises(InvalidInput, match="unknown reranker 'cross'"):
        get_reranker("cross")
    with pytest.raises(InvalidInput, match="needs the index folder"):
        get_reranker("terms")


def test_none_keeps_order() -> None:
    cands = [Candidate(Chunk(c, c, "t", 1), 1.0, i) for i, c in enumerate("xyz")]
    assert NoReranker().rerank("q", cands, k=2) == cands[:2]
    assert isinstance(get_reranker("none"), NoReranker)
