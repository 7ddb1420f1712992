"""Baselines under the same budget: knapsack is exact, DOS restores document order, MMR avoids repeats."""

from __future__ import annotations

import dataclasses
import itertools
import random

import numpy as np
import pytest

from ragengine.errors import InvalidInput
from ragengine.select.base import SelectionInput
from ragengine.select.dos import DOSSelector
from ragengine.select.greedy import GreedySelector
from ragengine.select.knapsack import KnapsackSelector
from ragengine.select.mcts import MCTSSelector
from ragengine.select.mmr import MMRSelector, jaccard_matrix
from ragengine.select.registry import STRATEGIES, get_selector
from ragengine.testing import make_candidates
from ragengine.types import Candidate


def with_docs(cands: list[Candidate], docs: list[tuple[str, int]]) -> list[Candidate]:
    return [
        dataclasses.replace(c, chunk=dataclasses.replace(c.chunk, doc_id=d, position=p))
        for c, (d, p) in zip(cands, docs, strict=True)
    ]


def ids(sel: object) -> list[str]:
    return [c.chunk.chunk_id for c in sel.chosen]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- knapsack


def brute_force_best(scores: list[float], costs: list[int], budget: int) -> float:
    best = 0.0
    for k in range(len(costs) + 1):
        for combo in itertools.combinations(range(len(costs)), k):
            if sum(costs[i] for i in combo) <= budget:
                best = max(best, sum(scores[i] for i in combo))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_knapsack_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 10)
    scores = sorted((rng.uniform(0.01, 1.0) for _ in range(n)), reverse=True)
    costs = [rng.randint(1, 60) for _ in range(n)]
    budget = rng.randint(1, 200)
    inp = SelectionInput("q", make_candidates([f"t{i}" for i in range(n)], scores=scores), costs, budget)
    sel = KnapsackSelector().select(inp)
    assert sel.context_tokens <= budget
    assert sum(c.score for c in sel.chosen) == pytest.approx(brute_force_best(scores, costs, budget))
    ranks = [c.rank for c in sel.chosen]
    assert ranks == sorted(ranks)


def test_knapsack_beats_greedy_when_a_big_chunk_blocks_two_small_ones() -> None:
    inp = SelectionInput("q", make_candidates(["big", "a", "b"], scores=[1.0, 0.8, 0.7]), [4, 2, 2], 4)
    assert ids(GreedySelector().select(inp)) == ["c0"]
    assert ids(KnapsackSelector().select(inp)) == ["c1", "c2"]


def test_knapsack_shifts_non_positive_scores() -> None:
    inp = SelectionInput("q", make_candidates(["a", "b", "c"], scores=[0.0, -1.0, -2.0]), [1, 1, 5], 2)
    sel = KnapsackSelector().select(inp)
    assert ids(sel) == ["c0", "c1"]
    assert sel.stats["score_shift"] > 2.0


def test_knapsack_handles_100_candidates_and_large_budget() -> None:
    rng = random.Random(1)
    n = 100
    scores = sorted((rng.random() for _ in range(n)), reverse=True)
    costs = [rng.randint(20, 200) for _ in range(n)]
    inp = SelectionInput("q", make_candidates([f"t{i}" for i in range(n)], scores=scores), costs, 4000)
    sel = KnapsackSelector().select(inp)
    assert sel.context_tokens <= 4000
    assert sum(c.score for c in sel.chosen) >= sum(c.score for c in GreedySelector().select(inp).chosen) - 1e-12


# ---------------------------------------------------------------- DOS


def test_dos_chooses_like_greedy_and_orders_by_document_then_position() -> None:
    cands = with_docs(
        make_candidates(["b2", "a7", "b1", "c0", "a3", "huge"]),
        [("b", 2), ("a", 7), ("b", 1), ("c", 0), ("a", 3), ("d", 0)],
    )
    inp = SelectionInput("q", cands, [1, 1, 1, 1, 1, 50], budget_tokens=5)
    sel = DOSSelector().select(inp)
    assert set(ids(sel)) == set(ids(GreedySelector().select(inp)))
    # documents in the order of their best-ranked chosen chunk (b, a, c); positions ascending inside
    assert [c.chunk.text for c in sel.chosen] == ["b1", "b2", "a3", "a7", "c0"]
    assert sel.dropped["c5"] == "over budget"


def test_dos_empty_when_nothing_fits() -> None:
    sel = DOSSelector().select(SelectionInput("q", make_candidates(["a", "b"]), [5, 6], 4))
    assert sel.chosen == () and "smallest costs 5" in sel.reason


# ---------------------------------------------------------------- MMR


def test_mmr_with_lam_one_is_greedy() -> None:
    cands = make_candidates(["a b", "a b", "c d", "e f"])
    inp = SelectionInput("q", cands, [3, 5, 2, 4], budget_tokens=9)
    assert ids(MMRSelector(lam=1.0).select(inp)) == ids(GreedySelector().select(inp))


def test_mmr_skips_a_duplicate_by_word_overlap() -> None:
    cands = make_candidates(["paris capital france", "paris capital france", "seine river"], scores=[1.0, 0.95, 0.5])
    inp = SelectionInput("q", cands, [3, 3, 2], budget_tokens=5)
    sel = MMRSelector(lam=0.5).select(inp)
    assert ids(sel) == ["c0", "c2"]
    assert sel.stats["similarity"] == "jaccard"
    assert ids(GreedySelector().select(inp)) == ["c0", "c2"]  # greedy too, only because c1 does not fit...
    wide = SelectionInput("q", cands, [3, 3, 2], budget_tokens=6)
    assert ids(GreedySelector().select(wide)) == ["c0", "c1"]  # ...with room, greedy takes the copy
    assert ids(MMRSelector(lam=0.5).select(wide)) == ["c0", "c2"]


def test_mmr_uses_chunk_vectors_when_given() -> None:
    # texts share no words, but the vectors say c1 duplicates c0
    vecs = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    cands = make_candidates(["x", "y", "z"], scores=[1.0, 0.9, 0.5])
    inp = SelectionInput("q", cands, [1, 1, 1], budget_tokens=2, chunk_vectors=vecs)
    sel = MMRSelector(lam=0.5).select(inp)
    assert sel.stats["similarity"] == "cosine"
    assert ids(sel) == ["c0", "c2"]


def test_mmr_takes_the_best_candidate_that_still_fits() -> None:
    cands = make_candidates(["a", "b", "c"], scores=[1.0, 0.9, 0.1])
    inp = SelectionInput("q", cands, [5, 9, 4], budget_tokens=10)
    assert ids(MMRSelector(lam=0.7).select(inp)) == ["c0", "c2"]


def test_jaccard_matrix() -> None:
    m = jaccard_matrix(["a b", "b c", ""])
    assert m[0, 1] == pytest.approx(1 / 3) and m[0, 2] == 0.0 and m[2, 2] == 1.0


@pytest.mark.parametrize("lam", [-0.1, 1.5, "0.5", True])
def test_mmr_lambda_validated(lam: object) -> None:
    with pytest.raises(InvalidInput, match=r"lam must be a number in \[0, 1\]"):
        MMRSelector(lam=lam)  # type: ignore[arg-type]


def test_mmr_vector_shape_validated() -> None:
    inp = SelectionInput("q", make_candidates(["a", "b"]), [1, 1], 2, chunk_vectors=np.ones((3, 2)))
    with pytest.raises(InvalidInput, match="chunk_vectors has shape"):
        MMRSelector().select(inp)


# ---------------------------------------------------------------- registry


def test_registry_names_build_the_right_selectors() -> None:
    assert STRATEGIES == ("greedy", "dos", "mmr", "knapsack", "mcts", "evidence")
    for name in STRATEGIES:
        assert get_selector(name).name == name
    assert isinstance(get_selector(" MCTS ", iterations=7), MCTSSelector)
    assert get_selector("mcts", iterations=7).iterations == 7  # type: ignore[attr-defined]
    assert get_selector("mmr", lam=0.3).lam == 0.3  # type: ignore[attr-defined]


def test_registry_unknown_strategy_lists_valid_names() -> None:
    with pytest.raises(InvalidInput, match="unknown selection strategy 'beam'; valid names: greedy, dos, mmr"):
        get_selector("beam")


def test_registry_bad_option_rejected() -> None:
    with pytest.raises(InvalidInput, match="bad options for strategy 'greedy'"):
        get_selector("greedy", lam=0.5)


def test_registry_passes_option_validation_through() -> None:
    with pytest.raises(InvalidInput, match="iterations must be a positive int"):
        get_selector("mcts", iterations=0)
