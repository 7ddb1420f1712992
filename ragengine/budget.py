"""What a caller allows a query to spend (Budget) and what it did spend (Ledger).

The context budget is a hard guarantee: the assembled context never exceeds
``Budget.context_tokens`` tokens of the generator's own tokenizer. The ledger
counts, per stage, tokens in and out, LLM calls, milliseconds and dollars, so
that accuracy can be scored per token spent.

>>> b = Budget(context_tokens=256)
>>> led = Ledger(prices=PriceTable(input_per_1k=0.5, output_per_1k=1.5))
>>> led.charge("generate", tokens_in=300, tokens_out=10, llm_calls=1, ms=120.0)
>>> round(led.usd, 4)
0.165
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ragengine.errors import InvalidInput


def _positive_int(name: str, value: int | None, fix: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer number of tokens, got {value!r}; {fix}")
    if value <= 0:
        raise InvalidInput(f"{name} must be > 0, got {value}; {fix}")


@dataclass(frozen=True)
class Budget:
    """Limits for one query. ``context_tokens`` is the hard cap on retrieved text in the prompt."""

    context_tokens: int = 512
    total_tokens: int | None = None
    usd: float | None = None
    latency_ms: float | None = None

    def __post_init__(self) -> None:
        _positive_int("context_tokens", self.context_tokens, "pass e.g. Budget(context_tokens=512)")
        _positive_int("total_tokens", self.total_tokens, "leave it None for no total cap")
        for name in ("usd", "latency_ms"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or v <= 0):
                raise InvalidInput(f"{name} must be a positive number or None, got {v!r}")
        if self.total_tokens is not None and self.total_tokens < self.context_tokens:
            raise InvalidInput(
                f"total_tokens ({self.total_tokens}) is smaller than context_tokens "
                f"({self.context_tokens}); the context alone would overspend it"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PriceTable:
    """Dollars per 1,000 tokens. The local model is free by default; set prices to model a hosted one."""

    input_per_1k: float = 0.0
    output_per_1k: float = 0.0

    def __post_init__(self) -> None:
        if self.input_per_1k < 0 or self.output_per_1k < 0:
            raise InvalidInput(f"prices must be >= 0, got {self.input_per_1k}, {self.output_per_1k}")

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in / 1000.0 * self.input_per_1k + tokens_out / 1000.0 * self.output_per_1k


@dataclass
class StageCost:
    """What one stage spent. ``tokens_in``/``tokens_out`` are LLM tokens only (0 for non-LLM stages)."""

    stage: str
    tokens_in: int = 0
    tokens_out: int = 0
    llm_calls: int = 0
    ms: float = 0.0
    usd: float = 0.0


@dataclass
class Ledger:
    """Per-stage record of one query's spending. Charged only by the pipeline."""

    prices: PriceTable = field(default_factory=PriceTable)
    stages: dict[str, StageCost] = field(default_factory=dict)
    context_tokens: int = 0

    def charge(
        self,
        stage: str,
        *,
        tokens_in: int = 0,
        tokens_out: int = 0,
        llm_calls: int = 0,
        ms: float = 0.0,
    ) -> None:
        if tokens_in < 0 or tokens_out < 0 or llm_calls < 0:
            raise InvalidInput(f"negative charge for stage {stage!r}: {tokens_in}, {tokens_out}, {llm_calls}")
        cost = self.stages.setdefault(stage, StageCost(stage))
        cost.tokens_in += tokens_in
        cost.tokens_out += tokens_out
        cost.llm_calls += llm_calls
        cost.ms += ms
        cost.usd += self.prices.cost(tokens_in, tokens_out)

    @property
    def total_tokens(self) -> int:
        """Every LLM token of the query: prompts (which include the context) and completions."""
        return sum(s.tokens_in + s.tokens_out for s in self.stages.values())

    @property
    def llm_calls(self) -> int:
        return sum(s.llm_calls for s in self.stages.values())

    @property
    def ms(self) -> float:
        return sum(s.ms for s in self.stages.values())

    @property
    def usd(self) -> float:
        return sum(s.usd for s in self.stages.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "context_tokens": self.context_tokens,
            "total_tokens": self.total_tokens,
            "llm_calls": self.llm_calls,
            "ms": round(self.ms, 3),
            "usd": self.usd,
            "stages": {k: {**asdict(v), "ms": round(v.ms, 3)} for k, v in self.stages.items()},
        }

    def table(self) -> str:
        """A plain-text table for terminals."""
        rows = [f"{'stage':<12}{'tok in':>8}{'tok out':>8}{'calls':>6}{'ms':>10}{'usd':>10}"]
        for s in self.stages.values():
            rows.append(f"{s.stage:<12}{s.tokens_in:>8}{s.tokens_out:>8}{s.llm_calls:>6}{s.ms:>10.1f}{s.usd:>10.5f}")
        rows.append(
            f"{'total':<12}{'':>8}{'':>8}{self.llm_calls:>6}{self.ms:>10.1f}{self.usd:>10.5f}"
            f"   context {self.context_tokens} tok, LLM total {self.total_tokens} tok"
        )
        return "\n".join(rows)
