"""Training the projection: deterministic per seed, and it learns a planted signal (synthetic, fast)."""

from __future__ import annotations

import numpy as np
import pytest

from ragengine.errors import InvalidInput
from ragengine.evaluation.corpus_states import CorpusStates
from ragengine.rerank.encoder import DIM
from ragengine.training.projection import TrainConfig, build_match_data, hard_negative_groups, train_projection


def _toy(seed: int = 0, n_docs: int = 60, n_queries: int = 80):
    """Docs of 20 tokens from a 40-id vocabulary; a token is 'important' in a doc when state dim 0 is high.

    Each query's positive holds its tokens with a high dim 0; negatives hold them with a low one.
    """
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 1040, (n_docs, 20)).astype(np.int32)
    states = rng.standard_normal((n_docs, 20, DIM)).astype(np.float32) * 0.05
    queries, positives, ranked = [], [], []
    for q in range(n_queries):
        pos = q % n_docs
        toks = rng.choice(ids[pos], 2, replace=False)
        queries.append(toks.astype(np.int64))
        positives.append([pos])
        states[pos][np.isin(ids[pos], toks), 0] += 2.0
        negs = [d for d in rng.permutation(n_docs) if d != pos][:10]
        for d in negs[:5]:  # hard negatives: same tokens, unimportant there
            ids[d, :2] = toks
            states[d, :2, 0] -= 2.0
        ranked.append(np.array(negs))
    cs = CorpusStates(ids.ravel(), np.arange(0, n_docs * 20 + 1, 20), states.reshape(-1, DIM).astype(np.float16), None)
    return cs, queries, positives, ranked


def _train(seed: int, hidden: int = 0):
    cs, queries, positives, ranked = _toy()
    groups = hard_negative_groups(queries, positives, ranked, "toy", 60, depth=10, seed=seed)
    data = build_match_data(groups, {"toy": cs})
    return train_projection(data, TrainConfig(hidden=hidden, epochs=4, batch=16, lr=1e-2, seed=seed)), cs


@pytest.mark.parametrize("hidden", [0, 8])
def test_training_is_deterministic_per_seed(hidden: int) -> None:
    a, _ = _train(0, hidden)
    b, _ = _train(0, hidden)
    c, _ = _train(1, hidden)
    for k, v in a.arrays().items():
        np.testing.assert_array_equal(v, b.arrays()[k])
    assert any(not np.array_equal(v, c.arrays()[k]) for k, v in a.arrays().items())


def test_training_learns_the_planted_signal() -> None:
    w, _ = _train(0)
    cs2, queries, positives, ranked = _toy()
    groups = hard_negative_groups(queries, positives, ranked, "toy", 60, depth=10, seed=0)
    top1 = 0
    for g in groups:  # brute force: sum over query tokens of the max weight of that token in the doc
        scores = []
        for d in g.docs:
            ids, st = cs2.doc(d)
            wt = w(st)
            scores.append(sum(max([wt[p] for p in range(len(ids)) if ids[p] == t], default=0.0) for t in g.query_ids))
        top1 += int(np.argmax(scores) == 0)
    assert top1 / len(groups) >= 0.9


@pytest.mark.parametrize("hidden", [0, 5])
def test_gradients_match_finite_differences(hidden: int) -> None:
    from ragengine.training.projection import _forward_backward

    rng = np.random.default_rng(0)
    n_rows, d = 40, DIM
    x = rng.standard_normal((n_rows, d)).astype(np.float64)
    row_seg = np.sort(rng.integers(0, 12, n_rows))
    row_seg = np.unique(row_seg, return_inverse=True)[1]  # segments 0..S-1, each non-empty
    n_seg = row_seg.max() + 1
    seg_pair = np.sort(rng.integers(0, 2 * 4, n_seg))
    seg_cnt = rng.integers(1, 3, n_seg).astype(np.float64)
    p = {"w2": rng.standard_normal(hidden or d) * 0.1, "b2": np.array(0.5)}
    if hidden:
        p |= {"w1": rng.standard_normal((d, hidden)) * 0.1, "b1": rng.standard_normal(hidden) * 0.1}
    _, _, grads = _forward_backward(p, x, row_seg, seg_pair, seg_cnt, 2, 4)
    eps = 1e-6
    for name in p:
        flat = p[name].reshape(-1)
        for j in rng.choice(flat.size, min(5, flat.size), replace=False):
            old = flat[j]
            flat[j] = old + eps
            up = _forward_backward(p, x, row_seg, seg_pair, seg_cnt, 2, 4)[0]
            flat[j] = old - eps
            down = _forward_backward(p, x, row_seg, seg_pair, seg_cnt, 2, 4)[0]
            flat[j] = old
            assert abs((up - down) / (2 * eps) - grads[name].reshape(-1)[j]) < 1e-4, (name, j)


def test_groups_draw_negatives_outside_positives() -> None:
    ranked = [np.array([3, 1, 4, 5, 9, 2, 6])]
    g = hard_negative_groups([np.array([7])], [[1, 4]], ranked, "c", 12, n_neg=7, depth=5, seed=0)
    assert len(g) == 2 and g[0].docs[0] == 1 and g[1].docs[0] == 4
    for grp in g:
        assert len(set(grp.docs)) == 8 and not {1, 4} & set(grp.docs[1:])
    assert hard_negative_groups([np.array([], np.int64)], [[1]], ranked, "c", 12) == []
    with pytest.raises(InvalidInput, match="no training groups"):
        build_match_data([], {})
