"""Abstention on evidence: below the threshold the reader is not called and the answer says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragengine import Engine, EngineConfig
from ragengine.errors import InvalidInput
from ragengine.testing import EchoGenerator


def test_low_evidence_abstains_without_a_reader_call(tiny_index: Path) -> None:
    q = "What is the capital of Italy?"
    always = Engine.from_index(tiny_index, generator=EchoGenerator(), config=EngineConfig(abstain_below=1.0))
    ans = always.ask(q, 30)
    value = ans.trace["selection"]["stats"]["value"]
    assert ans.text.startswith("[no answer] the retrieved text does not appear to hold the answer")
    assert f"evidence {value:.2f}" in ans.text and ans.trace["abstained"] is True
    assert "generate" not in ans.cost.stages and ans.cost.total_tokens == 0
    never = Engine.from_index(tiny_index, generator=EchoGenerator(), config=EngineConfig(abstain_below=0.0))
    answered = never.ask(q, 30)
    assert "Rome is the capital of Italy." in answered.text and "abstained" not in answered.trace
    chunks = Engine.from_index(tiny_index, generator=EchoGenerator(), config=EngineConfig(abstain_below=1.0))
    assert "Rome" in chunks.ask(q, 30, strategy="greedy").text  # chunk strategies carry no evidence value


@pytest.mark.parametrize("bad", [1.5, -0.1, True, "0.3"])
def test_abstain_threshold_is_validated(bad: object) -> None:
    with pytest.raises(InvalidInput, match="abstain_below must be a probability"):
        EngineConfig(abstain_below=bad)  # type: ignore[arg-type]
