"""Engine configuration: which stages run and with what settings. Saved nowhere; indexes carry their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ragengine.budget import PriceTable
from ragengine.errors import InvalidInput

# The names of every stage's modes: the stages, the CLI, the console and the eval configs take
# their choices from here, so a name is defined once.
Strategy = Literal["greedy", "dos", "mmr", "knapsack", "mcts", "evidence"]
GeneratorName = Literal["llm", "openai", "extractive", "none"]
RetrievalMode = Literal["hybrid", "bm25", "dense"]
RerankerMode = Literal["auto", "none", "terms"]
ClusterMode = Literal["auto", "on", "off"]
RewriteMode = Literal["none", "prf", "llm"]
DenseKind = Literal["flat", "ivf", "hnsw"]
SummaryMode = Literal["extractive", "abstractive"]

MAX_UPLOAD_MB = 20  # the console's per-file upload limit (larger files: `ragengine index PATH`)
STRATEGIES: tuple[str, ...] = get_args(Strategy)
GENERATORS: tuple[str, ...] = get_args(GeneratorName)
RETRIEVAL_MODES: tuple[str, ...] = get_args(RetrievalMode)
RERANKERS: tuple[str, ...] = get_args(RerankerMode)
CLUSTER_MODES: tuple[str, ...] = get_args(ClusterMode)
REWRITE_MODES: tuple[str, ...] = get_args(RewriteMode)
DENSE_KINDS: tuple[str, ...] = get_args(DenseKind)
SUMMARY_MODES: tuple[str, ...] = get_args(SummaryMode)


def check_choice(value: object, choices: tuple[str, ...], what: str) -> str:
    """``value`` if it is one of ``choices``, else InvalidInput naming them."""
    if value not in choices:
        raise InvalidInput(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return str(value)


@dataclass
class EngineConfig:
    """Defaults a caller can override per engine; per-question options go to ``Engine.ask``."""

    strategy: str = "evidence"
    """One of ``STRATEGIES`` (a ``Selector`` object can be passed to ``Engine.ask`` instead)."""
    reranker: RerankerMode = "auto"
    """``terms`` (TILDE-style term matching, needs an index built with term weights), ``none``, or
    ``auto``: terms when the index has them (indexes built with the default embedder do)."""
    retrieval: RetrievalMode = "hybrid"
    candidates: int = 30
    depth: int = 100
    rrf_k: int = 60
    max_new_tokens: int = 32
    seed: int = 0
    prices: PriceTable = field(default_factory=PriceTable)
    selector_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Options per strategy name, e.g. ``{"mcts": {"iterations": 500}}``."""
    clusters: ClusterMode = "auto"
    """CRAG granularities (cluster excerpts, best members, summaries) offered to the selector:
    ``on`` (the index must have been built with clusters), ``off``, or ``auto`` (on when it was)."""
    cluster_options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``ClusterAugmenter``, e.g. ``{"top_clusters": 3, "excerpt_tokens": 64}``."""
    rewrite: RewriteMode = "none"
    """Query rewriting before retrieval: ``none``, ``prf`` (RM3 pseudo-relevance feedback, no LLM
    tokens) or ``llm`` (Query Rewriter+: one generator call, its tokens charged to stage ``rewrite``)."""
    rewrite_options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the rewriter, plus ``original_weight`` (share of the fusion vote the
    original question keeps; default 0.5 for llm, plain RRF for prf)."""
    cache: bool = False
    """Semantic answer cache (retrieval trigger): serve a past answer to the same question on the
    same index version, or re-select its cached chunks when the budget is smaller."""
    abstain_below: float | None = None
    """Abstain without calling the reader when the evidence selector's probability that the context
    holds the answer (``trace["selection"]["stats"]["value"]``) is below this; None: always answer."""
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
        a = self.abstain_below
        if a is not None and (isinstance(a, bool) or not isinstance(a, int | float) or not 0.0 <= a <= 1.0):
            raise InvalidInput(f"abstain_below must be a probability in [0, 1] or None, got {a!r}")
        c = self.cache_threshold
        if isinstance(c, bool) or not isinstance(c, int | float) or not 0.0 < c <= 1.0:
            raise InvalidInput(f"cache_threshold must be a cosine in (0, 1], got {c!r}")
        check_choice(self.retrieval, RETRIEVAL_MODES, "retrieval mode")
        for name in ("candidates", "depth", "rrf_k", "max_new_tokens"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise InvalidInput(f"{name} must be a positive int, got {v!r}")
