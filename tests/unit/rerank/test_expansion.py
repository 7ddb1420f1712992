"""Passage expansion adds only absent vocabulary words, the nearest first, on the term-weight scale."""

from __future__ import annotations

import numpy as np

from ragengine.rerank.expansion import expand, expansion_vocabulary
from ragengine.rerank.sparse import TermMatrix
from ragengine.rerank.term_weights import STOPWORDS


def test_expand_adds_nearest_absent_words() -> None:
    rng = np.random.default_rng(0)
    vocab_ids = np.arange(100, 150)
    vocab_vecs = rng.standard_normal((50, 8)).astype(np.float32)
    vocab_vecs /= np.linalg.norm(vocab_vecs, axis=1, keepdims=True)
    passages = vocab_vecs[[3, 7]] + 0.01  # passage 0 sits next to word 103, passage 1 next to word 107
    base = TermMatrix.from_triples(np.array([0, 0, 1]), np.array([103, 5, 9]), np.array([2.0, 1.0, 4.0]), 2, 200)
    out = expand(base, passages, vocab_ids, vocab_vecs, n_terms=3, scale=0.5)
    row0, row1 = out.row(0), out.row(1)
    assert row0[103] == 2.0 and row0[5] == 1.0  # existing weights untouched
    assert len(row0) == 2 + 3 and len(row1) == 1 + 3
    assert 107 in row1 and row1[107] == max(v for k, v in row1.items() if k != 9)  # nearest word weighs most
    median = float(np.median(base.data))
    assert all(0 < v <= 0.5 * median * 1.01 for k, v in row1.items() if k != 9)
    assert expand(base, passages, vocab_ids, vocab_vecs, n_terms=0) is base


def test_expansion_vocabulary_is_whole_content_words() -> None:
    ids, words = expansion_vocabulary()
    assert len(ids) == len(words) > 15_000
    assert all(w.isalpha() and len(w) >= 3 and w not in STOPWORDS for w in words)
