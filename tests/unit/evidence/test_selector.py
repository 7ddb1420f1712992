"""The evidence selector: the budget holds over sentence candidates, the adaptive stop stays under it,
modes and options are validated, and the trace names every sentence's fate."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragengine.errors import InvalidInput
from ragengine.select.base import SelectionInput
from ragengine.select.evidence import EvidenceSelector
from ragengine.testing import WhitespaceCounter, make_candidates
from ragengine.text import format_context

WORDS = ["Sky", "launched", "in", "1998.", "The", "channel", "grew.", "Cats", "purr.", "It", "was", "founded"]
sentences = st.lists(st.sampled_from(WORDS), min_size=1, max_size=10).map(" ".join)
chunks = st.lists(st.lists(sentences, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(texts=chunks, budget=st.integers(1, 60), mode=st.sampled_from(["gain", "rank", "prune"]),
       min_gain=st.sampled_from([0.0, 0.005, 0.3]))  # fmt: skip
def test_budget_is_never_exceeded(texts: list[str], budget: int, mode: str, min_gain: float) -> None:
    counter = WhitespaceCounter()
    sel = EvidenceSelector(counter, mode=mode, min_gain=min_gain)
    cands = make_candidates(texts)
    out = sel.select(SelectionInput("When was Sky launched?", cands, [counter.count(t) + 1 for t in texts], budget))
    assert out.context_tokens <= budget
    assert counter.count(format_context([c.chunk.text for c in out.chosen])) == out.context_tokens
    assert len({c.chunk.doc_id for c in out.chosen}) == len(out.chosen)  # one block per document
    fates = out.stats["sentences"]
    assert sum(f["fate"] == "selected" for f in fates) == out.stats["sentences_chosen"]
    if out.stats.get("stopped") == "adaptive":
        assert out.stats["tokens_saved"] == budget - out.context_tokens
    smallest = min((s["tokens"] + 1 for s in fates), default=budget + 1)  # a sentence and its title line
    if smallest <= budget:
        assert out.chosen or mode == "prune", "nothing chosen although a sentence fits"  # prune keeps only p >= t
    else:
        assert not out.chosen and "no sentence fits the budget" in out.reason
    again = sel.select(SelectionInput("When was Sky launched?", cands, [counter.count(t) + 1 for t in texts], budget))
    assert [c.chunk.text for c in again.chosen] == [c.chunk.text for c in out.chosen]  # deterministic


def test_the_answer_sentence_is_chosen_first_and_a_large_stop_saves_tokens() -> None:
    counter = WhitespaceCounter()
    cands = make_candidates(
        [
            "Cats purr when content. Dogs bark at night.",
            "The Sky channel grew fast. Sky Digital was launched in 1998 by BSkyB.",
        ]
    )
    inp = SelectionInput("When was Sky Digital launched?", cands, [9, 14], 40)
    out = EvidenceSelector(counter, min_gain=0.0).select(inp)
    first = max(out.stats["sentences"], key=lambda f: f["p"])
    assert "1998" in first["text"] and first["fate"] == "selected"
    assert any("1998" in c.chunk.text for c in out.chosen)
    stopping = EvidenceSelector(counter, min_gain=0.9).select(inp)
    assert stopping.stats["stopped"] == "adaptive" and stopping.stats["sentences_chosen"] == 1
    assert stopping.stats["tokens_saved"] == 40 - stopping.context_tokens
    assert stopping.context_tokens < out.context_tokens


def test_options_are_validated() -> None:
    with pytest.raises(InvalidInput, match="unknown evidence mode 'best'"):
        EvidenceSelector(WhitespaceCounter(), mode="best")
    with pytest.raises(InvalidInput, match=r"min_gain must be a number in \[0, 1\]"):
        EvidenceSelector(WhitespaceCounter(), min_gain=2)
    with pytest.raises(InvalidInput, match="needs the reader's token counter"):
        EvidenceSelector().select(SelectionInput("q", make_candidates(["a b."]), [2], 5))


def test_an_engine_strategy_gets_the_readers_counter(tiny_index: Path) -> None:
    from ragengine import Engine

    eng = Engine.from_index(tiny_index, generator="none")
    ans = eng.ask("What is the capital of France?", 30, strategy="evidence")
    assert ans.cost.context_tokens <= 30
    assert ans.trace["selection"]["stats"]["mode"] == "gain"
