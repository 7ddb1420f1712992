"""MCTS selector: reaches the exhaustive-search optimum on small inputs, is seeded, and reports its tree."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import networkx as nx
import pytest

from ragengine.errors import InvalidInput
from ragengine.select.base import SelectionInput
from ragengine.select.mcts import MCTSSelector
from ragengine.select.rewards import CoverageReward, EmbeddingReward
from ragengine.testing import HashEmbedder, make_candidates

VOCAB = [f"w{i}" for i in range(40)]


def random_input(seed: int, n: int = 12, budget: int | None = None, vectors: bool = False) -> SelectionInput:
    """n chunks of random words; the query's terms are sprinkled unevenly so combinations matter."""
    rng = random.Random(seed)
    query_terms = rng.sample(VOCAB[:12], 5)
    texts, costs = [], []
    for _ in range(n):
        length = rng.randint(5, 30)
        words = [rng.choice(VOCAB[12:]) for _ in range(length)]
        for t in query_terms:
            if rng.random() < 0.3:
                words[rng.randrange(length)] = t
        texts.append(" ".join(words))
        costs.append(length)
    budget = budget if budget is not None else rng.randint(30, 70)
    emb = HashEmbedder(32)
    return SelectionInput(
        "what about " + " ".join(query_terms),
        make_candidates(texts, scores=sorted((rng.random() for _ in range(n)), reverse=True)),
        costs,
        budget,
        query_vector=emb.embed([" ".join(query_terms)])[0] if vectors else None,
        chunk_vectors=emb.embed(texts) if vectors else None,
        seed=seed,
    )


def exhaustive_best(inp: SelectionInput, reward: Callable[[Sequence[int]], float]) -> float:
    """Reference: the best reward over every subset whose cost fits the budget."""
    best = reward(())
    n = len(inp.costs)

    def walk(start: int, chosen: list[int], left: int) -> None:
        nonlocal best
        best = max(best, reward(chosen))
        for j in range(start, n):
            if inp.costs[j] <= left:
                walk(j + 1, [*chosen, j], left - inp.costs[j])

    walk(0, [], inp.budget_tokens)
    return best


def chosen_indices(sel: object, inp: SelectionInput) -> list[int]:
    ids = {c.chunk.chunk_id: i for i, c in enumerate(inp.candidates)}
    return [ids[c.chunk.chunk_id] for c in sel.chosen]  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", range(8))
def test_coverage_optimum_matches_exhaustive_search(seed: int) -> None:
    inp = random_input(seed)
    sel = MCTSSelector(iterations=20_000, reward="coverage").select(inp)
    reward = CoverageReward(inp)
    best = exhaustive_best(inp, reward)
    assert reward(chosen_indices(sel, inp)) == pytest.approx(best, abs=1e-9)
    assert sel.stats["best_reward"] == pytest.approx(best, abs=1e-9)
    assert sel.context_tokens <= inp.budget_tokens


@pytest.mark.parametrize("seed", range(8))
def test_default_ranked_coverage_optimum_matches_exhaustive_search(seed: int) -> None:
    from ragengine.select.rewards import RankedCoverageReward

    inp = random_input(seed)
    sel = MCTSSelector(iterations=20_000).select(inp)
    reward = RankedCoverageReward(inp)
    best = exhaustive_best(inp, reward)
    assert sel.stats["reward"] == "ranked_coverage"
    assert reward(chosen_indices(sel, inp)) == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("complete", [True, False])
def test_optimum_found_before_the_tree_is_exhausted(seed: int, complete: bool) -> None:
    # budget 100 over 12 chunks of 5..30 tokens: thousands of states, more than 1,000 iterations visit
    inp = random_input(seed, budget=100)
    sel = MCTSSelector(iterations=1000, complete=complete, reward="coverage").select(inp)
    reward = CoverageReward(inp)
    assert sel.stats["best_reward"] == pytest.approx(exhaustive_best(inp, reward), abs=1e-9)
    assert reward(chosen_indices(sel, inp)) == pytest.approx(sel.stats["best_reward"], abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("backup", ["best", "all"])
def test_embedding_optimum_matches_exhaustive_search(seed: int, backup: str) -> None:
    inp = random_input(100 + seed, vectors=True)
    sel = MCTSSelector(iterations=20_000, reward="embedding", backup=backup).select(inp)
    reward = EmbeddingReward(inp)
    assert reward(chosen_indices(sel, inp)) == pytest.approx(exhaustive_best(inp, reward), abs=1e-9)


def test_search_without_completion_still_finds_optimum_when_tree_is_exhausted() -> None:
    inp = random_input(7, n=10)
    sel = MCTSSelector(iterations=50_000, complete=False, reward="coverage").select(inp)
    assert sel.stats["exhausted"] is True
    assert sel.stats["iterations"] < 50_000
    reward = CoverageReward(inp)
    assert sel.stats["best_reward"] == pytest.approx(exhaustive_best(inp, reward), abs=1e-9)


def test_no_combination_is_scored_twice() -> None:
    inp = random_input(3, n=10)
    calls: list[frozenset[int]] = []

    def factory(i: SelectionInput) -> Callable[[Sequence[int]], float]:
        cov = CoverageReward(i)

        def score(idx: Sequence[int]) -> float:  # a plain callable: no batch method, one call per set
            calls.append(frozenset(idx))
            return cov(idx)

        return score

    sel = MCTSSelector(iterations=50_000, reward=factory).select(inp)
    assert len(calls) == len(set(calls)) == sel.stats["states_scored"]
    assert sel.stats["best_reward"] == pytest.approx(exhaustive_best(inp, CoverageReward(inp)), abs=1e-9)


def test_same_seed_same_selection_and_tree() -> None:
    inp = random_input(11, n=20, budget=90)
    a = MCTSSelector(iterations=60, seed=5).select(inp)
    b = MCTSSelector(iterations=60, seed=5).select(inp)
    assert [c.chunk.chunk_id for c in a.chosen] == [c.chunk.chunk_id for c in b.chosen]
    assert a.stats["tree"] == b.stats["tree"]


def test_seed_defaults_to_the_input_seed() -> None:
    inp = random_input(12, n=20, budget=90)
    other = SelectionInput(inp.query, inp.candidates, inp.costs, inp.budget_tokens, seed=9)
    mine = SelectionInput(inp.query, inp.candidates, inp.costs, inp.budget_tokens, seed=0)
    assert (
        MCTSSelector(iterations=40).select(other).stats["tree"]
        == (MCTSSelector(iterations=40, seed=9).select(mine).stats["tree"])
    )


def test_stats_and_tree_export_form_a_tree() -> None:
    inp = random_input(4, n=15, budget=80)
    sel = MCTSSelector(iterations=100).select(inp)
    st = sel.stats
    for key in ("iterations", "states_scored", "best_reward", "time_ms", "tree", "tree_order"):
        assert key in st
    assert 0 < st["iterations"] <= 100
    assert 0.0 <= st["best_reward"] <= 1.0
    tree = st["tree"]
    assert tree[0]["parent"] is None and tree[0]["chunk"] is None and tree[0]["cost"] == 0
    assert set(tree[0]) >= {"id", "parent", "chunk", "visits", "mean_reward", "cost"}
    graph = nx.DiGraph([(n["parent"], n["id"]) for n in tree if n["parent"] is not None])
    assert nx.is_arborescence(graph)
    costs = {n["id"]: n["cost"] for n in tree}
    for n in tree[1:]:
        assert n["cost"] == costs[n["parent"]] + inp.costs[n["chunk"]]
        assert n["cost"] <= inp.budget_tokens
    best = [n for n in tree if n["best"]]
    assert len(best) == 1 and best[0]["cost"] == sel.context_tokens
    assert tree[0]["visits"] >= st["iterations"]


def test_prompt_order_is_rank_order_and_tree_order_is_recorded() -> None:
    inp = random_input(5, n=15, budget=80)
    sel = MCTSSelector(iterations=200).select(inp)
    idx = chosen_indices(sel, inp)
    assert idx == sorted(idx)
    assert sorted(sel.stats["tree_order"]) == idx


def test_tree_limit_bounds_export_but_keeps_best_path() -> None:
    inp = random_input(6, n=15, budget=80)
    sel = MCTSSelector(iterations=200, tree_limit=3).select(inp)
    tree = sel.stats["tree"]
    ids = {n["id"] for n in tree}
    assert any(n["best"] for n in tree)
    assert all(n["parent"] is None or n["parent"] in ids for n in tree)
    assert len(tree) <= 3 + len(sel.chosen) + 1


def test_budget_below_smallest_chunk_gives_empty_selection_with_reason() -> None:
    inp = SelectionInput("a b", make_candidates(["a b c", "a b"]), [50, 40], budget_tokens=39)
    sel = MCTSSelector().select(inp)
    assert sel.chosen == () and sel.context_tokens == 0
    assert "smallest costs 40 tokens" in sel.reason


def test_no_candidates_gives_reason() -> None:
    sel = MCTSSelector().select(SelectionInput("q", [], [], budget_tokens=10))
    assert sel.chosen == () and "no candidates" in sel.reason


def test_zero_reward_everywhere_still_fills_by_score() -> None:
    # no query term occurs anywhere: every combination scores 0, ties go to the higher summed score
    inp = SelectionInput("zebra", make_candidates(["a b", "c d", "e f"]), [5, 5, 5], budget_tokens=10)
    sel = MCTSSelector(iterations=50).select(inp)
    assert [c.chunk.chunk_id for c in sel.chosen] == ["c0", "c1"]


def test_custom_reward_callable_is_maximised() -> None:
    inp = random_input(8, n=10, budget=40)

    def count_reward(i: SelectionInput) -> Callable[[Sequence[int]], float]:
        return lambda idx: len(idx) / len(i.candidates)

    sel = MCTSSelector(iterations=10_000, reward=count_reward).select(inp)
    most = 0
    left = inp.budget_tokens
    for c in sorted(inp.costs):
        if c <= left:
            most, left = most + 1, left - c
    assert len(sel.chosen) == most


def test_time_limit_alone_stops_the_search() -> None:
    inp = random_input(9, n=30, budget=200)
    sel = MCTSSelector(iterations=None, time_ms=5).select(inp)
    assert sel.stats["iterations"] >= 1
    assert sel.context_tokens <= inp.budget_tokens


def test_reward_out_of_range_is_rejected() -> None:
    inp = random_input(1, n=5)
    with pytest.raises(InvalidInput, match="normalised to"):
        MCTSSelector(reward=lambda i: lambda idx: 2.0 * len(idx)).select(inp)


def test_embedding_reward_without_vectors_is_rejected_at_select() -> None:
    with pytest.raises(InvalidInput, match="needs query_vector and chunk_vectors"):
        MCTSSelector(reward="embedding").select(random_input(1, n=5))


def test_bad_reward_options_rejected_at_select() -> None:
    with pytest.raises(InvalidInput, match="k1 must be a number > 0"):
        MCTSSelector(reward_options={"k1": 0}).select(random_input(1, n=5))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"iterations": 0}, "iterations must be a positive int"),
        ({"iterations": -5}, "iterations must be a positive int"),
        ({"iterations": 2.5}, "iterations must be a positive int"),
        ({"iterations": True}, "iterations must be a positive int"),
        ({"iterations": None}, "set at least one limit"),
        ({"time_ms": 0}, "time_ms must be a number > 0"),
        ({"time_ms": -1.0}, "time_ms must be a number > 0"),
        ({"c": -0.1}, "c must be a number >= 0"),
        ({"c": float("nan")}, "c must be a number >= 0"),
        ({"lam": -1}, "lam must be a number >= 0"),
        ({"reward": "bleu"}, "unknown reward 'bleu'"),
        ({"reward": 3}, "reward must be a name"),
        ({"backup": "mean"}, "backup must be one of"),
        ({"seed": "7"}, "seed must be an int or None"),
        ({"tree_limit": -1}, "tree_limit must be an int >= 0"),
        ({"complete": "yes"}, "complete must be True or False"),
    ],
)
def test_parameters_validated(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        MCTSSelector(**kwargs)  # type: ignore[arg-type]
