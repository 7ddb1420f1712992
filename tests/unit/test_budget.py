from __future__ import annotations

import pytest

from ragengine import Budget, Ledger, PriceTable
from ragengine.errors import InvalidInput


@pytest.mark.parametrize("bad", [0, -5])
def test_context_budget_must_be_positive(bad: int) -> None:
    with pytest.raises(InvalidInput, match="context_tokens must be > 0"):
        Budget(context_tokens=bad)


@pytest.mark.parametrize("bad", [1.5, "512", True])
def test_context_budget_must_be_int(bad: object) -> None:
    with pytest.raises(InvalidInput, match="integer number of tokens"):
        Budget(context_tokens=bad)  # type: ignore[arg-type]


def test_total_below_context_is_refused() -> None:
    with pytest.raises(InvalidInput, match="smaller than context_tokens"):
        Budget(context_tokens=512, total_tokens=100)


@pytest.mark.parametrize("field", ["usd", "latency_ms"])
def test_money_and_latency_must_be_positive(field: str) -> None:
    with pytest.raises(InvalidInput, match=f"{field} must be a positive number"):
        Budget(context_tokens=10, **{field: 0})


def test_negative_prices_refused() -> None:
    with pytest.raises(InvalidInput, match="prices must be >= 0"):
        PriceTable(input_per_1k=-1)


def test_ledger_sums_stages_and_prices() -> None:
    led = Ledger(prices=PriceTable(input_per_1k=1.0, output_per_1k=2.0))
    led.charge("rewrite", tokens_in=100, tokens_out=50, llm_calls=1, ms=10.0)
    led.charge("generate", tokens_in=400, tokens_out=20, llm_calls=1, ms=100.0)
    led.charge("generate", tokens_in=100, tokens_out=0, llm_calls=1, ms=5.0)
    assert led.total_tokens == 670
    assert led.llm_calls == 3
    assert led.ms == pytest.approx(115.0)
    assert led.usd == pytest.approx(0.6 * 1.0 + 0.07 * 2.0)
    d = led.to_dict()
    assert d["stages"]["generate"]["tokens_in"] == 500
    assert "generate" in led.table()


def test_ledger_refuses_negative_charge() -> None:
    with pytest.raises(InvalidInput, match="negative charge"):
        Ledger().charge("x", tokens_in=-1)
