"""Config + loaded index -> the stages of the query pipeline, one frozen bundle typed by Protocols.

``Stages`` is what the pipeline runs: a retriever, a selector, a generator (or None for a dry
run) and its token counter, and the optional re-ranker, query rewriter, cluster augmenter and
answer cache. ``StageFactory`` builds each from an ``EngineConfig`` and an index folder on first
use (the index, embedder and term weights load lazily), unless the caller passed an object for
that stage: every stage is replaceable by passing an object that satisfies its Protocol.

>>> Stages.__dataclass_fields__.keys()  # doctest: +NORMALIZE_WHITESPACE
dict_keys(['retriever', 'selector', 'generator', 'counter', 'reranker', 'rewriter', 'augmenter', 'cache'])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.budget import PriceTable
from ragengine.cache.base import AnswerRoute
from ragengine.cluster.base import Augmenter
from ragengine.config import EngineConfig
from ragengine.embed.base import Embedder
from ragengine.embed.registry import get_embedder
from ragengine.errors import InvalidInput
from ragengine.generate.base import Generator
from ragengine.index.base import ChunkStore
from ragengine.index.manifest import Manifest
from ragengine.index.store import LoadedIndex
from ragengine.paths import answer_cache_dir
from ragengine.rerank.base import Reranker
from ragengine.retrieve.base import Retriever
from ragengine.retrieve.hybrid import HybridRetriever
from ragengine.rewrite.base import Rewriter
from ragengine.select.base import Selector
from ragengine.select.registry import get_selector
from ragengine.tokens import TokenCounter, get_token_counter

CRAG_DEFAULTS: dict[str, Any] = {"top_clusters": 3, "excerpt_tokens": 64, "excerpt_blocks": 6}
"""ClusterAugmenter settings chosen on SQuAD dev articles 1-24 (eval/results/crag-rewrite-cache.md)."""

STAGE_NAMES = ("retriever", "reranker", "rewriter", "augmenter", "cache", "selector")
"""The stages a caller may pass as objects (besides the generator and embedder)."""

_DEPENDS = {  # config field -> the stages built from it (forgotten when it changes)
    "reranker": ("reranker",),
    "retrieval": ("retriever",),
    "depth": ("retriever",),
    "rrf_k": ("retriever",),
    "clusters": ("augmenter",),
    "cluster_options": ("augmenter",),
    "rewrite": ("rewriter",),
    "rewrite_options": ("rewriter",),
    "cache": ("cache",),
    "cache_threshold": ("cache",),
    "cache_dir": ("cache",),
    "max_new_tokens": ("cache",),
}


@dataclass(frozen=True)
class Stages:
    """The stages of one pipeline. ``None`` means the stage is off (or, for the generator, a dry run)."""

    retriever: Retriever
    selector: Selector
    generator: Generator | None
    counter: TokenCounter
    reranker: Reranker | None = None
    rewriter: Rewriter | None = None
    augmenter: Augmenter | None = None
    cache: AnswerRoute | None = None


@dataclass(frozen=True)
class Settings:
    """The numbers the pipeline needs besides its stages (from ``EngineConfig`` and the manifest)."""

    candidates: int = 30
    rerank_pool: int = 200
    original_weight: float | None = None
    index_tokenizer: str = ""
    prices: PriceTable = field(default_factory=PriceTable)
    max_new_tokens: int = 32
    seed: int = 0
    abstain_below: float | None = None

    @classmethod
    def from_config(cls, config: EngineConfig, index_tokenizer: str) -> Settings:
        c = config
        weight = c.rewrite_options.get("original_weight", 0.5 if c.rewrite == "llm" else None)
        return cls(c.candidates, 200, weight, index_tokenizer, c.prices, c.max_new_tokens, c.seed, c.abstain_below)


class StageFactory:
    """Builds the stages of one index folder from a config, each once, on first use.

    ``overrides`` maps a name of ``STAGE_NAMES`` to an object used as that stage instead.
    """

    def __init__(
        self,
        folder: Path,
        manifest: Manifest,
        config: EngineConfig,
        generator: Generator | None,
        embedder: Embedder | None,
        embedder_name: str,
        overrides: dict[str, Any] | None = None,
        opener: Callable[[], ChunkStore] | None = None,
    ) -> None:
        unknown = sorted(set(overrides or {}) - set(STAGE_NAMES))
        if unknown:
            raise InvalidInput(f"unknown stage {unknown[0]!r}; stages that can be passed: {', '.join(STAGE_NAMES)}")
        self.folder, self.manifest, self.config = folder, manifest, config
        self.generator = generator
        self._embedder, self._embedder_name = embedder, embedder_name
        self._index: ChunkStore | None = None
        self._opener = opener
        self._built: dict[str, Any] = dict(overrides or {})
        self._overrides = frozenset(self._built)

    def with_config(self, config: EngineConfig) -> StageFactory:
        """A factory sharing the loaded index, models and unchanged stages, with ``config`` in force."""
        other = object.__new__(StageFactory)
        other.__dict__.update(self.__dict__)
        other.config = config
        other._built = dict(self._built)
        for key, names in _DEPENDS.items():
            if getattr(self.config, key) != getattr(config, key):
                for n in names:
                    if n not in self._overrides:
                        other._built.pop(n, None)
        return other

    def forget_index(self, folder: Path | None = None, opener: Callable[[], ChunkStore] | None = None) -> None:
        """Drop everything loaded from the index (after it changed), optionally moving to a new
        ``folder`` and ``opener`` (a store's new version)."""
        old = self._index
        self.folder = folder or self.folder
        self._opener = opener or self._opener
        self.manifest = Manifest.read(self.folder)
        self._index = None
        close = getattr(old, "close", None)
        if callable(close):
            close()
        self._built = {k: v for k, v in self._built.items() if k in self._overrides}
        self.__dict__.pop("_clusters", None)

    @property
    def index(self) -> ChunkStore:
        if self._index is None:
            opened: ChunkStore = (
                self._opener()
                if self._opener is not None
                else LoadedIndex.load(self.folder, embedder=self.manifest.embedder)
            )
            self._index = opened
        return self._index

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self._embedder_name)
        return self._embedder

    @property
    def counter(self) -> TokenCounter:
        """The reader's token counter (the index's tokenizer when the generator has none)."""
        name = getattr(self.generator, "tokenizer", "") or self.manifest.tokenizer
        return get_token_counter(name)

    def _get(self, name: str, build: Any) -> Any:
        if name not in self._built:
            self._built[name] = build()
        return self._built[name]

    @property
    def retriever(self) -> Retriever:
        c = self.config
        return self._get(
            "retriever",
            lambda: HybridRetriever(self.index, self.embedder, mode=c.retrieval, depth=c.depth, rrf_k=c.rrf_k),
        )

    @property
    def reranker(self) -> Reranker | None:
        """The term re-ranker, or None (``config.reranker``: auto uses it when the index has term weights)."""

        def build() -> Reranker | None:
            name = self.config.reranker
            if name == "none" or (name == "auto" and not (self.folder / "terms.npz").is_file()):
                return None
            from ragengine.rerank.index_terms import get_reranker

            idx = self.index
            vectors = np.asarray(idx.vectors, dtype=np.float32)
            return get_reranker("terms", self.folder, [ch.chunk_id for ch in idx.chunks], vectors)

        return self._get("reranker", build)

    @property
    def has_clusters(self) -> bool:
        from ragengine.cluster import has_clusters

        return has_clusters(self.folder)

    @property
    def clusters(self) -> Any:
        """The index's ``ClusterSet`` (CRAG clusters and summaries); IndexCorrupted if it has none."""
        if "_clusters" not in self.__dict__:
            from ragengine.cluster import load_clusters

            self.__dict__["_clusters"] = load_clusters(self.folder, self.index.chunks)
        return self.__dict__["_clusters"]

    @property
    def augmenter(self) -> Augmenter | None:
        """The CRAG cluster augmenter, or None (``config.clusters``: auto uses it when the index has clusters)."""

        def build() -> Augmenter | None:
            mode = self.config.clusters
            if mode == "off" or (mode == "auto" and not self.has_clusters):
                return None
            if not self.has_clusters:
                raise InvalidInput(
                    f"clusters are on but index {self.folder.name!r} has none; rebuild it with "
                    "`ragengine index --clusters ...` or add them with `ragengine cluster NAME`"
                )
            from ragengine.cluster import ClusterAugmenter

            opts = {**CRAG_DEFAULTS, **self.config.cluster_options}
            counter = get_token_counter(self.manifest.tokenizer)
            return ClusterAugmenter(self.index, self.clusters, counter, embedder=self.embedder, **opts)

        return self._get("augmenter", build)

    @property
    def rewriter(self) -> Rewriter | None:
        """The query rewriter of ``config.rewrite``, or None for ``none``."""

        def build() -> Rewriter | None:
            if self.config.rewrite == "none":
                return None
            from ragengine.rewrite import get_rewriter

            opts = {k: v for k, v in self.config.rewrite_options.items() if k != "original_weight"}
            return get_rewriter(self.config.rewrite, index=self.index, generator=self.generator, **opts)

        return self._get("rewriter", build)

    @property
    def cache(self) -> AnswerRoute | None:
        """The answer cache's retrieval trigger (``config.cache``), or None."""

        def build() -> AnswerRoute | None:
            c = self.config
            if not c.cache:
                return None
            from ragengine.cache import RetrievalTrigger, SemanticCache

            folder = Path(c.cache_dir) if c.cache_dir else answer_cache_dir(self.folder)
            gen = getattr(self.generator, "name", "none")
            cache = SemanticCache(
                folder,
                self.manifest.version,
                self.embedder,
                threshold=c.cache_threshold,
                namespace=f"{gen}/{_model_of(self.generator)}/{c.max_new_tokens}",
            )
            return RetrievalTrigger(cache)

        return self._get("cache", build)

    def selector(self, strategy: str | None = None) -> Selector:
        """The selector passed as an object, else the one ``strategy`` (default ``config.strategy``) names."""
        if strategy is None and "selector" in self._overrides:
            sel: Selector = self._built["selector"]
            return sel
        name = strategy or self.config.strategy
        return get_selector(name, counter=self.counter, **self.config.selector_options.get(name, {}))

    def stages(self, strategy: str | None = None, selector: Selector | None = None) -> Stages:
        """The bundle for one pipeline: ``selector`` (an object) or ``strategy`` (a name) picks the selector."""
        return Stages(
            retriever=self.retriever,
            selector=selector if selector is not None else self.selector(strategy),
            generator=self.generator,
            counter=self.counter,
            reranker=self.reranker,
            rewriter=self.rewriter,
            augmenter=self.augmenter,
            cache=self.cache,
        )

    def settings(self) -> Settings:
        return Settings.from_config(self.config, self.manifest.tokenizer)


def _model_of(generator: Any) -> str:
    """The model a generator answers with (answers of different readers never share a cache)."""
    return str(getattr(generator, "model", "") or getattr(generator, "model_name", ""))
