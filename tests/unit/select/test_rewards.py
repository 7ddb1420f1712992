"""Reward models: values in [0, 1], coverage is monotone and submodular, incremental == from scratch."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from ragengine.errors import InvalidInput
from ragengine.select.base import SelectionInput
from ragengine.select.rewards import (
    CoverageReward,
    EmbeddingReward,
    JudgedReward,
    build_reward,
    check_reward,
    terms,
)
from ragengine.testing import HashEmbedder, make_candidates

TEXTS = [
    "Paris is the capital of France and lies on the Seine river",
    "The Seine river flows through Paris",
    "Berlin is the capital of Germany",
    "France borders Germany and Italy",
    "Rome is the capital of Italy",
    "Mountains and lakes",
]


def _inp(
    query: str = "capital of France river Germany", texts: list[str] | None = None, **kw: object
) -> SelectionInput:
    texts = texts or TEXTS
    costs = [len(t.split()) for t in texts]
    return SelectionInput(query, make_candidates(texts), costs, budget_tokens=kw.pop("budget", 30), **kw)  # type: ignore[arg-type]


def _vec_inp(query: str, texts: list[str], budget: int = 30) -> SelectionInput:
    emb = HashEmbedder(64)
    costs = [len(t.split()) for t in texts]
    return SelectionInput(
        query,
        make_candidates(texts),
        costs,
        budget_tokens=budget,
        query_vector=emb.embed([query])[0],
        chunk_vectors=emb.embed(texts),
    )


def test_terms_lowercase_drop_stopwords_and_stem() -> None:
    assert terms("What is the Capital of FRANCE?") == ["capit", "franc"]
    assert terms("founded") == terms("founding") == terms("founds")


def test_coverage_values_span_zero_to_one() -> None:
    r = CoverageReward(_inp())
    assert r(()) == 0.0
    assert r(tuple(range(len(TEXTS)))) == pytest.approx(1.0)
    assert r((5,)) == 0.0  # "Mountains and lakes" holds no query term
    assert 0.0 < r((0,)) < 1.0


def test_coverage_is_monotone_and_submodular() -> None:
    r = CoverageReward(_inp())
    rng = random.Random(0)
    n = len(TEXTS)
    for _ in range(200):
        b = {i for i in range(n) if rng.random() < 0.5}
        a = {i for i in b if rng.random() < 0.5}
        x = rng.randrange(n)
        if x in b:
            continue
        assert r(tuple(b)) >= r(tuple(a)) - 1e-12
        gain_a = r((*a, x)) - r(tuple(a))
        gain_b = r((*b, x)) - r(tuple(b))
        assert gain_a >= gain_b - 1e-12


def test_gain_and_extend_match_recomputation() -> None:
    r = CoverageReward(_inp())
    state = r.state(())
    chosen: list[int] = []
    for idx in [2, 0, 3, 1]:
        g = r.gain(state, idx)
        assert g == pytest.approx(r((*chosen, idx)) - r(tuple(chosen)))
        state = r.extend(state, idx)
        chosen.append(idx)
        np.testing.assert_allclose(state, r.state(chosen))


def test_score_extensions_match_calls() -> None:
    r = CoverageReward(_inp())
    got = r.score_extensions((0, 2), [1, 3, 4, 5])
    np.testing.assert_allclose(got, [r((0, 2, j)) for j in [1, 3, 4, 5]])


def test_coverage_prefers_complementary_chunks() -> None:
    r = CoverageReward(_inp("Seine Germany"))
    # chunk 1 covers seine, chunk 2 covers germany: together they cover the query
    assert r((1, 2)) == pytest.approx(1.0)
    assert r((0, 1)) < r((1, 2))


def test_query_of_only_stopwords_scores_zero() -> None:
    r = CoverageReward(_inp("what is the"))
    assert r.query_terms == []
    assert r((0, 1, 2)) == 0.0
    assert r.gain(r.state(()), 0) == 0.0


def test_term_weights_option_is_used() -> None:
    weights = [{"France": 2.0}, {"river": 1.0}, {}, {"france": 1.0, "germany": 3.0}, {}, {}]
    r = CoverageReward(_inp("france river germany", options={"term_weights": weights}))
    # best attainable: france 2 + river 1 + germany 3 = 6
    assert r((0,)) == pytest.approx(2 / 6)
    assert r((3,)) == pytest.approx(4 / 6)
    assert r((0, 1, 3)) == pytest.approx(1.0)


def test_term_weights_wrong_length_rejected() -> None:
    with pytest.raises(InvalidInput, match="list of 6 dicts"):
        CoverageReward(_inp(options={"term_weights": [{}]}))


def test_term_weights_non_dict_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"term_weights'\]\[1\] must be a dict"):
        CoverageReward(_inp(options={"term_weights": [{}, 3, {}, {}, {}, {}]}))


@pytest.mark.parametrize("k1", [0, -1.0, "1"])
def test_coverage_k1_validated(k1: object) -> None:
    with pytest.raises(InvalidInput, match="k1 must be a number > 0"):
        CoverageReward(_inp(), k1=k1)  # type: ignore[arg-type]


def test_embedding_needs_vectors() -> None:
    with pytest.raises(InvalidInput, match="needs query_vector and chunk_vectors"):
        EmbeddingReward(_inp())


def test_embedding_vector_shape_checked() -> None:
    inp = _vec_inp("capital france", TEXTS)
    assert inp.chunk_vectors is not None
    bad = SelectionInput(
        inp.query, inp.candidates, inp.costs, 30, query_vector=inp.query_vector, chunk_vectors=inp.chunk_vectors[:2]
    )
    with pytest.raises(InvalidInput, match="chunk_vectors has shape"):
        EmbeddingReward(bad)


def test_embedding_penalty_and_aggregate_validated() -> None:
    inp = _vec_inp("capital france", TEXTS)
    with pytest.raises(InvalidInput, match="penalty must be a number >= 0"):
        EmbeddingReward(inp, penalty=-0.1)
    with pytest.raises(InvalidInput, match="aggregate must be one of"):
        EmbeddingReward(inp, aggregate="median")


@pytest.mark.parametrize("aggregate", ["sum", "mean", "max"])
def test_embedding_in_unit_interval_and_batch_matches(aggregate: str) -> None:
    inp = _vec_inp("capital of france on the seine", TEXTS, budget=40)
    r = EmbeddingReward(inp, aggregate=aggregate)
    for k in range(0, 4):
        for s in itertools.combinations(range(len(TEXTS)), k):
            assert 0.0 <= r(s) <= 1.0
    np.testing.assert_allclose(r.score_extensions((0, 1), [2, 3, 5]), [r((0, 1, j)) for j in [2, 3, 5]])
    np.testing.assert_allclose(r.score_extensions((), [0, 4]), [r((0,)), r((4,))])


def test_embedding_penalises_redundant_pairs() -> None:
    texts = ["paris capital france", "paris capital france", "seine river paris"]
    inp = _vec_inp("paris capital france seine", texts)
    with_penalty = EmbeddingReward(inp, penalty=1.0)
    assert with_penalty((0, 2)) > with_penalty((0, 1))
    no_penalty = EmbeddingReward(inp, penalty=0.0)
    assert no_penalty((0, 1)) >= no_penalty((0,))


def test_judged_reward_hook_passes_query_and_chunks_and_clips() -> None:
    seen: list[tuple[str, list[str]]] = []

    def judge(query: str, cands: object) -> float:
        ids = [c.chunk.chunk_id for c in cands]  # type: ignore[attr-defined]
        seen.append((query, ids))
        return 1.5 if len(ids) > 1 else -0.2

    score = JudgedReward(judge)(_inp("q words"))
    assert score((2, 0)) == 1.0
    assert score((1,)) == 0.0
    assert seen == [("q words", ["c0", "c2"]), ("q words", ["c1"])]


def test_judged_reward_rejects_nan_and_non_callable() -> None:
    with pytest.raises(InvalidInput, match="judge must be callable"):
        JudgedReward(3)  # type: ignore[arg-type]
    score = JudgedReward(lambda q, c: math.nan)(_inp())
    with pytest.raises(InvalidInput, match="judge returned nan"):
        score((0,))


def test_build_reward_by_name_and_factory() -> None:
    inp = _inp()
    assert isinstance(build_reward("coverage", inp), CoverageReward)
    scorer = build_reward(lambda i: lambda idx: len(idx) / len(i.candidates), inp)
    assert scorer((0, 1, 2)) == 0.5


def test_build_reward_rejects_unknown_name_bad_options_and_bad_factory() -> None:
    with pytest.raises(InvalidInput, match="unknown reward 'bleu'"):
        build_reward("bleu", _inp())
    with pytest.raises(InvalidInput, match="bad options for reward 'coverage'"):
        build_reward("coverage", _inp(), alpha=1)
    with pytest.raises(InvalidInput, match="it must return a callable"):
        build_reward(lambda i: 0.5, _inp())  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("value", [1.5, -0.1, math.nan, "0.5", None, True])
def test_check_reward_rejects_out_of_range(value: object) -> None:
    with pytest.raises(InvalidInput, match="a reward must be"):
        check_reward(value, "my reward")


def test_check_reward_clips_float_noise() -> None:
    assert check_reward(1.0 + 1e-12, "r") == 1.0
    assert check_reward(np.float64(0.25), "r") == 0.25


def test_ranked_coverage_blends_coverage_and_rank_prior() -> None:
    from ragengine.select.rewards import RankedCoverageReward

    inp = _inp("france river germany")
    cov = CoverageReward(inp)
    r = RankedCoverageReward(inp, alpha=1.0)
    assert r((0, 3)) == pytest.approx(cov((0, 3)))
    prior_only = RankedCoverageReward(inp, alpha=0.0, decay=0.5)
    assert prior_only((0,)) > prior_only((5,)) > 0.0
    assert 0.0 <= RankedCoverageReward(inp)((0, 1, 2, 3, 4, 5)) <= 1.0


@pytest.mark.parametrize(("opt", "value"), [("alpha", 1.5), ("decay", -0.1), ("alpha", "x")])
def test_ranked_coverage_validates(opt: str, value: object) -> None:
    from ragengine.select.rewards import RankedCoverageReward

    with pytest.raises(InvalidInput, match=f"{opt} must be a number in"):
        RankedCoverageReward(_inp(), **{opt: value})  # type: ignore[arg-type]
