"""The one budget -> context rule: whatever the selector and tokenizer, the assembled context is
counted exactly and never exceeds its budget; total and dollar budgets shrink the context."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragengine import assemble
from ragengine.budget import Budget, PriceTable
from ragengine.generate.prompt import format_context
from ragengine.select.registry import STRATEGIES, get_selector
from ragengine.testing import EchoGenerator, WhitespaceCounter, make_candidates

WORDS = ["paris", "france", "capital", "river", "seine", "berlin", "germany", "alps", "rome", "the"]
FAST: dict[str, dict[str, Any]] = {"mcts": {"iterations": 30}}


class CharCounter:
    """One token per 3 characters, rounded up: the count of a join is not the sum of its parts, so
    per-candidate costs can under-estimate the assembled context and the exact re-count must trim."""

    name = "chars"

    def count(self, text: str) -> int:
        return (len(text) + 2) // 3

    def encode(self, text: str) -> list[int]:
        return list(range(self.count(text)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join), min_size=0, max_size=12),
    budget=st.integers(-5, 200),
    name=st.sampled_from(STRATEGIES),
    chars=st.booleans(),
)
def test_fit_never_exceeds_the_budget_and_counts_exactly(texts: list[str], budget: int, name: str, chars: bool) -> None:
    counter = CharCounter() if chars else WhitespaceCounter()
    cands = make_candidates(texts)
    costs = assemble.candidate_costs(cands, counter)
    if chars:  # under-estimate on purpose: the selector believes joins are free
        costs = [max(1, c - 1) for c in costs]
    options = {**FAST.get(name, {}), **({"counter": counter} if name == "evidence" else {})}
    fitted = assemble.fit("paris river", cands, costs, budget, get_selector(name, **options), counter)
    assert fitted.tokens == counter.count(fitted.context) <= max(budget, 0)
    assert fitted.context == format_context([c.chunk.text for c in fitted.chosen])
    chosen = list(fitted.selection.chosen)
    assert list(fitted.chosen) == chosen[: len(fitted.chosen)]  # trimming only drops units from the end
    if budget <= 0 or not cands:
        assert fitted.chosen == () and fitted.selection.reason


def test_candidate_costs_use_stored_counts_only_for_the_same_tokenizer() -> None:
    cands = make_candidates(["a b c", "d"])
    cands[0] = replace(cands[0], chunk=replace(cands[0].chunk, n_tokens=99))  # a stored count, used only
    counter = WhitespaceCounter()
    assert assemble.candidate_costs(cands, counter, "whitespace") == [99, 1]  # when the tokenizer matches
    assert assemble.candidate_costs(cands, counter, "other") == [3, 1]
    assert assemble.candidate_costs(cands, counter) == [3, 1]


def test_context_budget_shrinks_for_the_total_and_dollar_budgets() -> None:
    gen, free = EchoGenerator(), PriceTable()
    q = "Who founded the city?"
    overhead = gen.prompt_overhead(q)
    assert assemble.context_budget(q, Budget(context_tokens=100), gen, free, 32) == (100, "")
    assert assemble.context_budget(q, Budget(context_tokens=100), None, free, 32, spent=10**6) == (100, "")
    room, why = assemble.context_budget(q, Budget(context_tokens=60, total_tokens=80), gen, free, 32, spent=5)
    assert room == 80 - 5 - overhead - 32 and "total budget 80" in why and "query rewrite (5)" in why
    prices = PriceTable(input_per_1k=1.0, output_per_1k=2.0)
    room, why = assemble.context_budget(q, Budget(context_tokens=500, usd=0.2), gen, prices, 10)
    assert room == int((0.2 - 0.02) / 0.001) - overhead and "dollar budget $0.2" in why
    assert assemble.context_budget(q, Budget(context_tokens=500, usd=0.001), gen, prices, 10)[0] == 0


def test_llm_allowance_leaves_the_answer_its_minimum() -> None:
    gen, q = EchoGenerator(), "Who?"
    assert assemble.llm_allowance(q, Budget(context_tokens=10), gen, PriceTable(), 32) is None
    assert assemble.llm_allowance(q, Budget(context_tokens=10, total_tokens=100), None, PriceTable(), 32) is None
    cap = assemble.llm_allowance(q, Budget(context_tokens=10, total_tokens=100), gen, PriceTable(), 32)
    assert cap == 100 - gen.prompt_overhead(q) - 32 - 1


def test_trim_drops_from_the_end_until_the_exact_count_fits() -> None:
    cands = make_candidates(["aaaaaa", "bbbbbb", "cccccc"])
    kept, context, tokens = assemble.trim(cands, CharCounter(), 4)
    assert [c.chunk.text for c in kept] == ["aaaaaa"] and context == "aaaaaa" and tokens == 2
    assert assemble.trim(cands, CharCounter(), 0) == ([], "", 0)


@pytest.mark.parametrize("budget", [0, -3])
def test_choose_with_no_room_says_why(budget: int) -> None:
    sel = assemble.choose("q", make_candidates(["a"]), [1], budget, get_selector("greedy"), reason="no room left")
    assert sel.chosen == () and sel.reason == "no room left" and sel.budget_tokens == 0
