"""The real demo index (XQuAD, ONNX MiniLM, SmolLM2 tokenizer): recall, exact budgets, real generation."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragengine import Budget, Engine, EngineConfig
from ragengine.evaluation.datasets import load_squad
from ragengine.evaluation.metrics import answer_in_context
from ragengine.tokens import get_token_counter
from tests.conftest import XQUAD

pytestmark = pytest.mark.integration


def _questions(n: int) -> list:
    exs = load_squad(XQUAD)
    step = max(1, len(exs) // n)
    return exs[::step][:n]


def test_gold_answer_in_context_at_512_on_100_questions(demo_index: Path) -> None:
    eng = Engine.from_index(demo_index, generator="none")
    exs = _questions(100)
    hits = 0
    for ex in exs:
        ans = eng.ask(ex.question, Budget(context_tokens=512))
        assert ans.cost.context_tokens <= 512
        hits += answer_in_context("\n\n".join(c.text for c in ans.citations), ex.answers)
    assert hits / len(exs) >= 0.80, f"gold answer in context for {hits}/{len(exs)}"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    budget=st.integers(min_value=1, max_value=700),
    qi=st.integers(min_value=0, max_value=1189),
    strategy=st.sampled_from(["greedy", "mcts", "knapsack", "mmr", "dos"]),
)
def test_real_tokenizer_budget_is_never_exceeded(demo_index: Path, budget: int, qi: int, strategy: str) -> None:
    eng = _engine_cache(demo_index)
    ex = load_squad(XQUAD)[qi]
    ans = eng.ask(ex.question, budget, strategy=strategy)
    context = "\n\n".join(c.text for c in ans.citations)
    assert ans.cost.context_tokens == get_token_counter("smollm2-135m-instruct").count(context) <= budget


_ENGINES: dict[Path, Engine] = {}


def _engine_cache(folder: Path) -> Engine:
    if folder not in _ENGINES:
        _ENGINES[folder] = Engine.from_index(folder, generator="none")
    return _ENGINES[folder]


def test_local_llm_answers_and_the_ledger_is_exact(demo_index: Path) -> None:
    eng = Engine.from_index(demo_index, generator="llm")
    ans = eng.ask("When was Sky Digital launched?", Budget(context_tokens=256))
    gen = ans.cost.stages["generate"]
    assert gen.llm_calls == 1 and gen.tokens_in > ans.cost.context_tokens and 0 < gen.tokens_out <= 32
    assert ans.cost.total_tokens == gen.tokens_in + gen.tokens_out
    assert ans.text.strip() and not ans.text.startswith("[no answer]")
    assert ans.trace["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_total_budget_shrinks_the_context(demo_index: Path) -> None:
    eng = Engine.from_index(demo_index, generator="llm")
    ans = eng.ask("When was Sky Digital launched?", Budget(context_tokens=256, total_tokens=300))
    assert ans.cost.total_tokens <= 300
    assert ans.cost.context_tokens < 300
    assert "leaves" in ans.trace["selection"]["reason"]


def test_other_embedder_is_refused_on_the_real_index(demo_index: Path) -> None:
    from ragengine.errors import IndexMismatch

    with pytest.raises(IndexMismatch, match="all-MiniLM-L6-v2-onnx-int8"):
        Engine.from_index(demo_index, embedder="minilm-st-fp32")


def test_term_reranker_is_on_by_default_for_the_default_embedder(demo_index: Path) -> None:
    assert (demo_index / "terms.npz").is_file()
    ans = Engine.from_index(demo_index, generator="none").ask("When was Sky Digital launched?", 256)
    assert ans.trace["reranker"] == "terms"
    assert list(ans.cost.stages)[:2] == ["retrieve", "rerank"]
    assert "terms" in ans.trace["candidates"][0]["scores"]
    off = Engine.from_index(demo_index, generator="none", config=EngineConfig(reranker="none"))
    assert off.ask("When was Sky Digital launched?", 256).trace["reranker"] == "none"
