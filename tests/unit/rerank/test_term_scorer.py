"""The term scorer against a brute-force reference: sparse rows, and the whole index-time + query-time path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragengine.errors import IndexCorrupted, InvalidInput
from ragengine.rerank.encoder import DIM, VOCAB_SIZE
from ragengine.rerank.sparse import TermMatrix
from ragengine.rerank.term_weights import TermWeights, content_mask
from ragengine.rerank.terms import QueryTerms, TermReranker, fuse
from ragengine.types import Candidate, Chunk


def _random_triples(seed: int, n_rows: int, n_cols: int, nnz: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, n_rows, nnz),
        rng.integers(0, n_cols, nnz),
        rng.uniform(-0.5, 2.0, nnz).astype(np.float32),
    )


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(1, 30), nnz=st.integers(0, 300))
def test_score_matches_dense_reference(seed: int, n_rows: int, nnz: int) -> None:
    n_cols = 50
    rows, cols, vals = _random_triples(seed, n_rows, n_cols, nnz)
    m = TermMatrix.from_triples(rows, cols, vals, n_rows, n_cols)
    dense = np.zeros((n_rows, n_cols), dtype=np.float32)
    for r, c, v in zip(rows, cols, vals, strict=True):
        dense[r, c] = max(dense[r, c], v)  # max per (row, col), non-positive dropped
    rng = np.random.default_rng(seed + 1)
    q = rng.integers(0, 3, n_cols).astype(np.float32)
    pick = rng.integers(0, n_rows, 17)
    np.testing.assert_allclose(m.score(pick, q), dense[pick] @ q, rtol=1e-5, atol=1e-5)
    assert all(np.all(np.diff(m.indices[m.indptr[i] : m.indptr[i + 1]]) > 0) for i in range(n_rows))


def test_save_load_roundtrip_and_errors(tmp_path) -> None:
    rows, cols, vals = _random_triples(0, 20, 100, 200)
    m = TermMatrix.from_triples(rows, cols, vals, 20, 100)
    m.save(tmp_path / "terms.npz")
    back = TermMatrix.load(tmp_path / "terms.npz")
    np.testing.assert_array_equal(back.indices, m.indices)
    np.testing.assert_allclose(back.data, m.data.astype(np.float16).astype(np.float32))
    with pytest.raises(IndexCorrupted, match="missing"):
        TermMatrix.load(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(IndexCorrupted, match="not a valid term-weight file"):
        TermMatrix.load(tmp_path / "bad.npz")
    with pytest.raises(InvalidInput, match="row ids must be in"):
        m.score(np.array([20]), np.zeros(100, np.float32))


def test_query_terms_drop_stopwords_and_punctuation() -> None:
    qt = QueryTerms()
    ids = qt.ids("What is the effect of the BRCA1 mutation, and of the mutation?")
    mask = content_mask()
    assert len(ids) and mask[ids].all()
    assert np.bincount(ids).max() == 2  # "mutation" twice; dedupe keeps one
    assert np.bincount(QueryTerms(dedupe=True).ids("mutation mutation")).max() == 1
    assert len(qt.ids("the of and ?!")) == 0


@pytest.mark.integration
def test_reranker_matches_brute_force_on_small_corpus() -> None:
    """Index-time weights + CSR + query tokens == a loop over tokens and positions."""
    from ragengine.rerank.encoder import TokenEncoder, load_tokenizer
    from ragengine.rerank.term_weights import TermWeighter
    from ragengine.testing import TINY_CORPUS

    texts = [t for _, t in TINY_CORPUS][:8]
    rng = np.random.default_rng(3)
    weights = TermWeights(rng.standard_normal(DIM).astype(np.float32) * 0.2, 0.3)
    enc = TokenEncoder(window=32, overlap=8)  # small windows: long texts span several
    terms = TermWeighter(weights, enc).passage_weights(texts, batch=3)
    queries = ["Where is the capital city?", "river bridge river", "unrelated zebra words"]
    rr = TermReranker(terms, fusion={"method": "minmax", "terms": 1.0}, dedupe=False)
    tok, mask = load_tokenizer(), content_mask()
    encoded = enc.encode(texts)
    for q in queries:
        q_ids = [i for i in tok.encode(q).ids if mask[i]]
        ref = []
        for ids, states in encoded:
            w = np.maximum(states.astype(np.float32) @ weights.w2 + weights.b2, 0)
            ref.append(sum(max([w[p] for p in range(len(ids)) if ids[p] == t], default=0.0) for t in q_ids))
        got = rr.term_scores(q, np.arange(len(texts)))
        np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-3)  # float16 term weights
    chunks = [Candidate(Chunk(str(i), str(i), t, 1), 0.0, i, {"bm25": 0.0}) for i, t in enumerate(texts)]
    out = rr.rerank(queries[0], chunks, rows=np.arange(len(texts)))
    assert [c.rank for c in out] == list(range(len(texts)))
    assert [c.scores["terms"] for c in out] == sorted((c.scores["terms"] for c in out), reverse=True)


def test_fuse_minmax_and_rejects_unknown_method() -> None:
    f = fuse({"bm25": np.array([1.0, 3.0]), "terms": np.array([5.0, 1.0])}, {"bm25": 1.0, "terms": 2.0})
    np.testing.assert_allclose(f, [2.0, 1.0])
    with pytest.raises(InvalidInput, match="unknown fusion method"):
        fuse({"terms": np.ones(2)}, {"method": "rrf"})


def test_reranker_input_checks() -> None:
    m = TermMatrix.from_triples(np.array([0]), np.array([5]), np.array([1.0]), 2, VOCAB_SIZE)
    with pytest.raises(InvalidInput, match="chunk_ids has 1 ids"):
        TermReranker(m, chunk_ids=["a"], fusion={}, dedupe=False)
    rr = TermReranker(m, chunk_ids=["a", "b"], fusion={"terms": 1.0}, dedupe=False)
    cand = [Candidate(Chunk("zz", "d", "t", 1), 1.0, 0)]
    with pytest.raises(InvalidInput, match="not in this index"):
        rr.rerank("query", cand)
    with pytest.raises(InvalidInput, match="rows has 2 entries"):
        rr.rerank("query", cand, rows=[0, 1])
    assert rr.rerank("query", []) == []
