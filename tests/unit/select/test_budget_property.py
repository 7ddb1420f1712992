"""Invariants of every strategy: the budget is never exceeded, nothing fits -> empty with a reason,
and the same inputs (same seed) give the same selection."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragengine.select.base import SelectionInput
from ragengine.select.registry import STRATEGIES, get_selector
from ragengine.testing import HashEmbedder, make_candidates

WORDS = ["paris", "france", "capital", "river", "seine", "berlin", "germany", "alps", "rome", "the"]
FAST: dict[str, dict[str, Any]] = {"mcts": {"iterations": 40}}  # small trees keep the property test quick
# Chunk-level strategies choose among the candidates at their given costs; the sentence-level evidence
# strategy counts sentences itself and has its own properties in tests/unit/evidence.
CHUNK_STRATEGIES = tuple(s for s in STRATEGIES if s != "evidence")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def selection_inputs(draw: st.DrawFn, below_smallest: bool = False) -> SelectionInput:
    n = draw(st.integers(0 if not below_smallest else 1, 14))
    costs = draw(st.lists(st.integers(1, 200), min_size=n, max_size=n))
    texts = [" ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6))) for _ in range(n)]
    if below_smallest:
        budget = draw(st.integers(1, max(1, min(costs) - 1))) if min(costs) > 1 else None
        if budget is None:  # the smallest chunk costs 1: make every chunk cost at least 2
            costs = [c + 1 for c in costs]
            budget = 1
    else:
        budget = draw(st.integers(1, 1000))
    scores = sorted(draw(st.lists(st.floats(-1.0, 1.0), min_size=n, max_size=n)), reverse=True)
    vectors = draw(st.booleans()) and n > 0
    emb = HashEmbedder(16)
    return SelectionInput(
        " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=0, max_size=4))),
        make_candidates(texts, scores=scores),
        costs,
        budget,
        query_vector=emb.embed(["paris river"])[0] if vectors else None,
        chunk_vectors=emb.embed(texts) if vectors else None,
        seed=draw(st.integers(0, 2**16)),
    )


@SETTINGS
@given(inp=selection_inputs(), name=st.sampled_from(CHUNK_STRATEGIES))
def test_no_strategy_ever_exceeds_the_budget(inp: SelectionInput, name: str) -> None:
    sel = get_selector(name, **FAST.get(name, {})).select(inp)
    index = {c.chunk.chunk_id: i for i, c in enumerate(inp.candidates)}
    chosen = [index[c.chunk.chunk_id] for c in sel.chosen]
    assert len(chosen) == len(set(chosen))
    assert sel.context_tokens == sum(inp.costs[i] for i in chosen)
    assert sel.context_tokens <= inp.budget_tokens
    assert sel.budget_tokens == inp.budget_tokens and sel.strategy == name
    assert len(sel.dropped) == len(inp.candidates) - len(chosen)
    if sel.chosen:
        assert sel.reason == ""
    else:
        assert sel.reason
    if inp.candidates and min(inp.costs) <= inp.budget_tokens:
        assert sel.chosen, f"{name} chose nothing although a candidate fits"


@SETTINGS
@given(inp=selection_inputs(below_smallest=True), name=st.sampled_from(CHUNK_STRATEGIES))
def test_budget_below_smallest_chunk_gives_empty_selection_and_reason(inp: SelectionInput, name: str) -> None:
    assert inp.budget_tokens < min(inp.costs)
    sel = get_selector(name, **FAST.get(name, {})).select(inp)
    assert sel.chosen == () and sel.context_tokens == 0
    assert "no candidate fits the budget" in sel.reason
    assert set(sel.dropped.values()) == {"over budget"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=selection_inputs(), name=st.sampled_from(CHUNK_STRATEGIES))
def test_same_seed_same_selection(inp: SelectionInput, name: str) -> None:
    a = get_selector(name, **FAST.get(name, {})).select(inp)
    b = get_selector(name, **FAST.get(name, {})).select(inp)
    assert [c.chunk.chunk_id for c in a.chosen] == [c.chunk.chunk_id for c in b.chosen]
    assert a.context_tokens == b.context_tokens


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=selection_inputs())
def test_mcts_with_embedding_reward_respects_the_budget(inp: SelectionInput) -> None:
    if inp.chunk_vectors is None:
        emb = HashEmbedder(16)
        inp = SelectionInput(
            inp.query or "x",
            inp.candidates,
            inp.costs,
            inp.budget_tokens,
            query_vector=emb.embed([inp.query or "x"])[0],
            chunk_vectors=emb.embed([c.chunk.text for c in inp.candidates]) if inp.candidates else np.zeros((0, 16)),
            seed=inp.seed,
        )
    for backup in ("best", "all"):
        sel = get_selector("mcts", iterations=30, reward="embedding", backup=backup).select(inp)
        assert sel.context_tokens <= inp.budget_tokens
        assert 0.0 <= sel.stats["best_reward"] <= 1.0
