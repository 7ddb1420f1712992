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
    clusters: str = "auto"
    """CRAG granularities (cluster excerpts, best members, summaries) offered to the selector:
    ``on`` (the index must have been built with clusters), ``off``, or ``auto`` (on when it was)."""
    cluster_options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``ClusterAugmenter``, e.g. ``{"top_clusters": 3, "excerpt_tokens": 64}``."""
    rewrite: str = "none"
    """Query rewriting before retrieval: ``none``, ``prf`` (RM3 pseudo-relevance feedback, no LLM
    tokens) or ``llm`` (Query Rewriter+: one generator call, its tokens charged to stage ``rewrite``)."""
    rewrite_options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the rewriter, plus ``original_weight`` (share of the fusion vote the
    original question keeps; default 0.5 for llm, plain RRF for prf)."""
    cache: bool = False
    """Semantic answer cache (retrieval trigger): serve a past answer to the same question on the
    same index version, or re-select its cached chunks when the budget is smaller."""
    cache_threshold: float = 0.95
    cache_dir: str | None = None
    """Where the cache lives; default ``<index root>/.answer-cache/<index name>``."""

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
        if self.clusters not in ("auto", "on", "off"):
            raise InvalidInput(f"unknown clusters setting {self.clusters!r}; choose auto, on or off")
        if self.rewrite not in ("none", "prf", "llm"):
            raise InvalidInput(f"unknown rewrite mode {self.rewrite!r}; choose none, prf or llm")
        if not isinstance(self.cache, bool):
            raise InvalidInput(f"cache must be True or False, got {self.cache!r}")
        for name in ("cluster_options", "rewrite_options"):
            if not isinstance(getattr(self, name), dict):
                raise InvalidInput(f"{name} must be a dict of keyword arguments, got {getattr(self, name)!r}")
        c = self.cache_threshold
        if isinstance(c, bool) or not isinstance(c, int | float) or not 0.0 < c <= 1.0:
            raise InvalidInput(f"cache_threshold must be a cosine in (0, 1], got {c!r}")
        if self.retrieval not in MODES:
            raise InvalidInput(f"unknown retrieval mode {self.retrieval!r}; choose one of {', '.join(MODES)}")
        for name in ("candidates", "depth", "rrf_k", "max_new_tokens"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise InvalidInput(f"{name} must be a positive int, got {v!r}")
