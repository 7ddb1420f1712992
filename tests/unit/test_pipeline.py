"""End to end on the fakes: the context never exceeds the budget, bad input is refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragengine import Budget, Engine
from ragengine.errors import InvalidInput
from ragengine.testing import EchoGenerator, WhitespaceCounter
from ragengine.types import Document

WORDS = ["river", "capital", "mountain", "king", "war", "city", "music", "science", "sea", "bridge", "north", "gold"]


def _engine(folder: Path, generator: object = None) -> Engine:
    return Engine.from_index(folder, generator=generator or "none")


def test_answer_cites_selected_chunks_and_counts_context(tiny_index: Path) -> None:
    eng = _engine(tiny_index, EchoGenerator())
    ans = eng.ask("What is the capital of Italy?", budget=Budget(context_tokens=30))
    assert ans.citations and ans.citations[0].doc_id == "rome"
    assert ans.text == "rome\nRome is the capital of Italy."  # an evidence block opens with its title
    assert 0 < ans.cost.context_tokens <= 30
    context = "\n\n".join(c.text for c in ans.citations)
    assert ans.cost.context_tokens == WhitespaceCounter().count(context)
    d = ans.to_dict()
    assert d["budget"]["context_tokens"] == 30 and d["cost"]["context_tokens"] == ans.cost.context_tokens
    assert {"retrieve", "select", "assemble", "generate"} <= set(d["cost"]["stages"])
    fates = {c["chunk_id"]: c["fate"] for c in ans.trace["candidates"]}
    assert fates[ans.citations[0].chunk_id] == "selected"


def test_budget_below_smallest_chunk_gives_empty_context_and_reason(tiny_index: Path) -> None:
    ans = _engine(tiny_index, EchoGenerator()).ask("Where is the Nile?", budget=3)
    assert ans.citations == [] and ans.cost.context_tokens == 0
    assert "smallest costs" in ans.trace["selection"]["reason"]
    assert ans.text.startswith("[no answer]")
    assert ans.cost.total_tokens == 0


@pytest.mark.parametrize("q", ["", "   \n\t"])
def test_empty_question_is_refused(tiny_index: Path, q: str) -> None:
    with pytest.raises(InvalidInput, match="question is empty"):
        _engine(tiny_index).ask(q, 100)


@pytest.mark.parametrize("b", [0, -1])
def test_bad_budget_is_refused(tiny_index: Path, b: int) -> None:
    with pytest.raises(InvalidInput, match="context_tokens must be > 0"):
        _engine(tiny_index).ask("Where is Rome?", b)


def test_dry_run_spends_no_llm_tokens(tiny_index: Path) -> None:
    ans = _engine(tiny_index).ask("Where is Rome?", 50)
    assert ans.trace["dry_run"] is True and ans.text == ""
    assert ans.cost.total_tokens == 0 and ans.cost.llm_calls == 0 and ans.cost.context_tokens > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=60), min_size=1, max_size=12),
    question=st.lists(st.sampled_from(WORDS), min_size=1, max_size=6),
    budget=st.integers(min_value=1, max_value=200),
    retrieval=st.sampled_from(["hybrid", "bm25", "dense"]),
)
def test_context_never_exceeds_budget(
    tmp_path_factory: pytest.TempPathFactory, docs: list[list[str]], question: list[str], budget: int, retrieval: str
) -> None:
    from ragengine import EngineConfig

    root = tmp_path_factory.mktemp("prop")
    corpus = [Document(f"d{i}", " ".join(words) + ".") for i, words in enumerate(docs)]
    Engine.build_index(
        corpus, "p", root=root, embedder="hash-32", tokenizer="whitespace", chunk_size=16, chunk_overlap=0
    )
    eng = Engine.from_index(root / "p", generator="none", config=EngineConfig(retrieval=retrieval))
    ans = eng.ask(" ".join(question), budget)
    context = "\n\n".join(c.text for c in ans.citations)
    assert ans.cost.context_tokens == WhitespaceCounter().count(context) <= budget
    smallest = min(c["cost"] for c in ans.trace["candidates"]) if ans.trace["candidates"] else None
    if smallest is None or budget < smallest:
        assert ans.citations == [] and ans.trace["selection"]["reason"]


def test_cached_retrieval_reruns_only_selection(tiny_index: Path) -> None:
    eng = _engine(tiny_index)
    retrieved = eng.retrieve("Which river flows north?")
    small = eng.ask("Which river flows north?", 14, retrieved=retrieved)
    large = eng.ask("Which river flows north?", 60, retrieved=retrieved)
    assert small.trace["retrieval"]["cached"] is True and small.cost.stages["retrieve"].ms == 0.0
    assert small.cost.context_tokens <= 14 < large.cost.context_tokens <= 60
    assert [c["chunk_id"] for c in small.trace["candidates"]] == [c["chunk_id"] for c in large.trace["candidates"]]


def test_charged_times_each_stage_and_charges_what_it_reports_even_when_it_fails() -> None:
    from ragengine.budget import Ledger
    from ragengine.pipeline import charged

    ledger = Ledger()
    with charged(ledger, "rewrite") as spend:
        spend.tokens_in, spend.tokens_out, spend.llm_calls = 7, 3, 1
    with pytest.raises(RuntimeError, match="backend down"), charged(ledger, "generate") as spend:
        spend.tokens_in = 5
        raise RuntimeError("backend down")
    assert list(ledger.stages) == ["rewrite", "generate"]
    assert (ledger.stages["rewrite"].tokens_in, ledger.stages["rewrite"].tokens_out) == (7, 3)
    assert ledger.stages["generate"].tokens_in == 5 and ledger.total_tokens == 15
    assert all(s.ms >= 0.0 for s in ledger.stages.values())


def test_a_dry_run_charges_only_the_stages_that_ran(tiny_index: Path) -> None:
    ans = _engine(tiny_index).ask("Which river flows north?", 30)
    assert list(ans.cost.stages) == ["retrieve", "select", "assemble"]
    assert ans.cost.total_tokens == 0 and ans.trace["dry_run"] is True
