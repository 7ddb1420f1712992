"""bm25s against rank-bm25 (the reference) on a real corpus: same tokens, same top results."""

from __future__ import annotations

import numpy as np
import pytest

from ragengine.evaluation.datasets import iter_squad_paragraphs, load_squad
from ragengine.index.bm25 import BM25Index
from tests.conftest import XQUAD

pytestmark = pytest.mark.integration


def test_bm25s_matches_rank_bm25_on_xquad() -> None:
    rank_bm25 = pytest.importorskip("rank_bm25")
    import bm25s

    texts = [t for _, _, t in iter_squad_paragraphs(XQUAD)]
    ours = BM25Index.build(texts)
    toks = bm25s.tokenize(texts, stopwords="en", stemmer=ours.stemmer, show_progress=False, return_ids=False)
    ref = rank_bm25.BM25Okapi(toks, k1=1.5, b=0.75, epsilon=0.25)
    questions = [ex.question for ex in load_squad(XQUAD)[::4]]
    top1 = overlap = 0
    for q in questions:
        ids, _ = ours.search([q], 10)[0]
        qt = bm25s.tokenize([q], stopwords="en", stemmer=ours.stemmer, show_progress=False, return_ids=False)[0]
        ref_top = np.argsort(-ref.get_scores(qt), kind="stable")[:10]
        top1 += int(len(ids) > 0 and ids[0] == ref_top[0])
        overlap += len(set(ids.tolist()) & set(ref_top.tolist())) / 10
    n = len(questions)
    assert top1 / n >= 0.95, f"top-1 agreement {top1}/{n}"
    assert overlap / n >= 0.90, f"mean top-10 overlap {overlap / n:.3f}"
