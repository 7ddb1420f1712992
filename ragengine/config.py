"""Engine configuration: which stages run and with what settings. Saved nowhere; indexes carry their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragengine.budget import PriceTable
from ragengine.errors import InvalidInput
from ragengine.retrieve.hybrid import MODES


@dataclass
class EngineConfig:
    """Defaults a caller can override per engine; per-question options go to ``Engine.ask``."""

    strategy: str = "greedy"
    reranker: str = "auto"
    """``terms`` (TILDE-style term matching, needs an index built with term weights), ``none``, or
    ``auto``: terms when the index has them (indexes built with the default embedder do)."""
    retrieval: str = "hybrid"
    candidates: int = 30
    depth: int = 100
    rrf_k: int = 60
    max_new_tokens: int = 32
    seed: int = 0
    prices: PriceTable = field(default_factory=PriceTable)
    selector_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Options per strategy name, e.g. ``{"mcts": {"iterations": 500}}``."""

    def __post_init__(self) -> None:
        if not isinstance(self.selector_options, dict) or not all(
            isinstance(v, dict) for v in self.selector_options.values()
        ):
            raise InvalidInput(
                "selector_options maps a strategy name to its options, e.g. {'mcts': {'iterations': 500}}; "
                f"got {self.selector_options!r}"
            )
        if self.reranker not in ("auto", "none", "terms"):
            raise InvalidInput(f"unknown reranker {self.reranker!r}; choose auto, none or terms")
        if self.retrieval not in MODES:
            raise InvalidInput(f"unknown retrieval mode {self.retrieval!r}; choose one of {', '.join(MODES)}")
        for name in ("candidates", "depth", "rrf_k", "max_new_tokens"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise InvalidInput(f"{name} must be a positive int, got {v!r}")
