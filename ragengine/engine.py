"""The public entry point: build an index, open it, ask questions under a token budget.

>>> from ragengine import Engine, Budget
>>> engine = Engine.from_index("demo")  # doctest: +SKIP
>>> answer = engine.ask("Who founded the city?", budget=Budget(context_tokens=256))  # doctest: +SKIP
>>> answer.text, answer.cost.context_tokens  # doctest: +SKIP

Constructors are light: the index, embedder and generator load on the first question
(or on ``warm_up()``). Replacing a stage is one keyword argument.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.budget import Budget
from ragengine.config import EngineConfig
from ragengine.embed.base import Embedder, get_embedder
from ragengine.generate.base import Generator, default_generator_name, get_generator
from ragengine.index.manifest import Manifest
from ragengine.index.store import LoadedIndex, build_index, list_indexes, resolve_index_dir
from ragengine.ingest.chunking import Chunker
from ragengine.ingest.loaders import LoadReport, iter_documents
from ragengine.pipeline import Pipeline
from ragengine.retrieve.candidates import CandidateSource
from ragengine.retrieve.hybrid import HybridRetriever
from ragengine.select.base import Selector
from ragengine.select.registry import get_selector
from ragengine.tokens import TokenCounter, get_token_counter
from ragengine.types import Answer, Document, Retrieved

log = logging.getLogger(__name__)

CRAG_DEFAULTS: dict[str, Any] = {"top_clusters": 3, "excerpt_tokens": 64, "excerpt_blocks": 6}
"""ClusterAugmenter settings chosen on SQuAD dev articles 1-24 (eval/results/crag-rewrite-cache.md)."""
_STAGE_ATTRS = {  # config field -> the lazily built stage to forget when it changes
    "reranker": "_reranker",
    "clusters": "_augmenter",
    "cluster_options": "_augmenter",
    "rewrite": "_rewriter",
    "rewrite_options": "_rewriter",
    "cache": "_trigger",
    "cache_threshold": "_trigger",
    "cache_dir": "_trigger",
    "max_new_tokens": "_trigger",
}


def _as_budget(budget: Budget | int) -> Budget:
    return budget if isinstance(budget, Budget) else Budget(context_tokens=budget)


class Engine:
    """Answers questions over one index. Not thread-safe across ``ask`` calls with a local LLM."""

    def __init__(
        self,
        folder: Path,
        *,
        generator: str | Generator | None = None,
        embedder: str | Embedder | None = None,
        config: EngineConfig | None = None,
        generator_options: dict[str, Any] | None = None,
    ) -> None:
        self.folder = folder
        self.manifest = Manifest.read(folder)
        emb_id = embedder if isinstance(embedder, str) or embedder is None else embedder.id
        if isinstance(emb_id, str):
            emb_id = get_embedder(emb_id).id
        self.manifest.check_compatible(embedder=emb_id)
        self.config = config or EngineConfig()
        self._embedder = embedder if embedder is not None and not isinstance(embedder, str) else None
        self._embedder_name = emb_id or self.manifest.embedder
        gen = default_generator_name() if generator is None else generator
        self.generator: Generator | None = (
            get_generator(gen, **(generator_options or {})) if isinstance(gen, str) else gen
        )
        self._index: LoadedIndex | None = None
        self._pipelines: dict[str, Pipeline] = {}

    @classmethod
    def from_index(cls, name_or_path: str | Path, *, root: str | Path | None = None, **kwargs: Any) -> Engine:
        """Open ``indexes/NAME`` (or a folder path). Raises IndexNotFound / IndexMismatch with the fix."""
        return cls(resolve_index_dir(name_or_path, root), **kwargs)

    @property
    def index(self) -> LoadedIndex:
        if self._index is None:
            self._index = LoadedIndex.load(self.folder, embedder=self.manifest.embedder)
        return self._index

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self._embedder_name)
        return self._embedder

    @property
    def reranker(self) -> Any:
        """The term re-ranker, or None (``config.reranker``: auto uses it when the index has term weights)."""
        if not hasattr(self, "_reranker"):
            name = self.config.reranker
            has_terms = (self.folder / "terms.npz").is_file()
            if name == "none" or (name == "auto" and not has_terms):
                self._reranker = None
            else:
                from ragengine.rerank.index_terms import get_reranker

                idx = self.index
                self._reranker = get_reranker(
                    "terms", idx.folder, [ch.chunk_id for ch in idx.chunks], np.asarray(idx.vectors, dtype=np.float32)
                )
        return self._reranker

    @property
    def has_clusters(self) -> bool:
        from ragengine.cluster import has_clusters

        return has_clusters(self.folder)

    @property
    def clusters(self) -> Any:
        """The index's ``ClusterSet`` (CRAG clusters and summaries); IndexCorrupted if it has none."""
        if not hasattr(self, "_clusters"):
            from ragengine.cluster import load_clusters

            self._clusters = load_clusters(self.folder, self.index.chunks)
        return self._clusters

    @property
    def augmenter(self) -> Any:
        """The CRAG cluster augmenter, or None (``config.clusters``: auto uses it when the index has clusters)."""
        if not hasattr(self, "_augmenter"):
            mode = self.config.clusters
            if mode == "off" or (mode == "auto" and not self.has_clusters):
                self._augmenter = None
            elif not self.has_clusters:
                from ragengine.errors import InvalidInput

                raise InvalidInput(
                    f"clusters are on but index {self.folder.name!r} has none; rebuild it with "
                    "`ragengine index --clusters ...` or add them with `ragengine cluster NAME`"
                )
            else:
                from ragengine.cluster import ClusterAugmenter

                opts = {**CRAG_DEFAULTS, **self.config.cluster_options}
                counter = get_token_counter(self.manifest.tokenizer)
                self._augmenter = ClusterAugmenter(self.index, self.clusters, counter, embedder=self.embedder, **opts)
        return self._augmenter

    @property
    def rewriter(self) -> Any:
        """The query rewriter of ``config.rewrite``, or None for ``none``."""
        if not hasattr(self, "_rewriter"):
            from ragengine.rewrite import get_rewriter

            opts = {k: v for k, v in self.config.rewrite_options.items() if k != "original_weight"}
            mode = self.config.rewrite
            self._rewriter = (
                None if mode == "none" else get_rewriter(mode, index=self.index, generator=self.generator, **opts)
            )
        return self._rewriter

    @property
    def cache(self) -> Any:
        """The semantic answer cache (``config.cache``), or None."""
        trigger = self.trigger
        return None if trigger is None else trigger.cache

    @property
    def trigger(self) -> Any:
        if not hasattr(self, "_trigger"):
            self._trigger = None
            if self.config.cache:
                from ragengine.cache import RetrievalTrigger, SemanticCache

                c = self.config
                folder = Path(c.cache_dir) if c.cache_dir else self.folder.parent / ".answer-cache" / self.folder.name
                gen = getattr(self.generator, "name", "none")
                cache = SemanticCache(
                    folder,
                    self.manifest.version,
                    self.embedder,
                    threshold=c.cache_threshold,
                    namespace=f"{gen}/{getattr(self.generator, 'model', '')}/{c.max_new_tokens}",
                )
                self._trigger = RetrievalTrigger(cache)
        return self._trigger

    @property
    def counter(self) -> TokenCounter:
        name = getattr(self.generator, "tokenizer", "") or self.manifest.tokenizer
        return get_token_counter(name)

    def warm_up(self) -> Engine:
        """Load the index and models now rather than on the first question."""
        self.pipeline(self.config.strategy)
        self.embedder.embed(["warm up"])
        load = getattr(self.generator, "load", None)
        if callable(load):
            load()
        return self

    def pipeline(self, strategy: str | None = None, selector: Selector | None = None) -> Pipeline:
        name = selector.name if selector is not None else (strategy or self.config.strategy)
        if selector is not None or name not in self._pipelines:
            c = self.config
            retriever = HybridRetriever(self.index, self.embedder, mode=c.retrieval, depth=c.depth, rrf_k=c.rrf_k)
            weight = c.rewrite_options.get("original_weight", 0.5 if c.rewrite == "llm" else None)
            source = CandidateSource(
                retriever,
                c.candidates,
                reranker=self.reranker,
                rewriter=self.rewriter,
                original_weight=weight,
                augmenter=self.augmenter,
                counter=self.counter,
            )
            pipe = Pipeline(
                source,
                selector or get_selector(name, **c.selector_options.get(name, {})),
                self.generator,
                self.counter,
                self.manifest.tokenizer,
                c.prices,
                c.max_new_tokens,
                c.seed,
                trigger=self.trigger,
            )
            if selector is not None:
                return pipe
            self._pipelines[name] = pipe
        return self._pipelines[name]

    def ask(
        self,
        question: str,
        budget: Budget | int = 512,
        *,
        strategy: str | None = None,
        selector: Selector | None = None,
        retrieved: Retrieved | None = None,
    ) -> Answer:
        """Answer under ``budget`` (a Budget or an int of context tokens).

        ``retrieved`` (from ``engine.retrieve(question)``) skips retrieval: a what-if over budgets or
        strategies then re-runs only selection (and generation, if a generator is set).
        """
        b = _as_budget(budget)
        return self.pipeline(strategy, selector).run(question, b, retrieved=retrieved)

    def retrieve(self, question: str) -> Retrieved:
        """The fused candidates for ``question`` (no selection, no generation)."""
        return self.pipeline().retrieve(question)

    def ask_many(self, questions: Iterable[str], budget: Budget | int = 512, **kwargs: Any) -> Iterator[Answer]:
        b = _as_budget(budget)
        for q in questions:
            yield self.ask(q, b, **kwargs)

    @staticmethod
    def list_indexes(root: str | Path | None = None) -> list[str]:
        """Names of the indexes under ``root`` (default ./indexes or $RAGENGINE_INDEXES)."""
        return list_indexes(root)

    def corpus_stats(self) -> dict[str, Any]:
        """Counts and chunk sizes of the loaded index (for the console and ``ragengine info``)."""
        sizes = [c.n_tokens for c in self.index.chunks]
        docs: dict[str, int] = {}
        for c in self.index.chunks:
            docs[c.doc_id] = docs.get(c.doc_id, 0) + 1
        return {
            "documents": len(docs),
            "chunks": len(sizes),
            "chunk_tokens": sizes,
            "mean_chunk_tokens": sum(sizes) / max(1, len(sizes)),
            "total_tokens": sum(sizes),
            "largest_documents": sorted(docs.items(), key=lambda kv: -kv[1])[:10],
        }

    def cluster_overview(self, top_documents: int = 5) -> dict[str, Any]:
        """The index's CRAG clusters for people: parameters, and per cluster its size, main documents
        and stored summary. ``{"clusters": []}`` when the index has none."""
        if not self.has_clusters:
            return {"params": {}, "indexing": {}, "clusters": []}
        cs, chunks = self.clusters, self.index.chunks
        rows = []
        for c in range(cs.k):
            members = cs.members(c)
            docs: dict[str, int] = {}
            for r in members.tolist():
                docs[chunks[int(r)].doc_id] = docs.get(chunks[int(r)].doc_id, 0) + 1
            s = cs.summaries[c] if c < len(cs.summaries) else None
            rows.append(
                {
                    "cluster": c,
                    "chunks": int(members.size),
                    "documents": len(docs),
                    "top_documents": [d for d, _ in sorted(docs.items(), key=lambda kv: -kv[1])[:top_documents]],
                    "summary": s.text if s is not None else "",
                    "summary_tokens": s.n_tokens if s is not None else 0,
                    "summary_mode": s.mode if s is not None else "",
                }
            )
        return {"params": dict(cs.params), "indexing": dict(cs.indexing), "clusters": rows}

    def info(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {**asdict(self.manifest), "path": str(self.folder), "version": self.manifest.version}

    def with_config(self, **changes: Any) -> Engine:
        """A copy sharing the loaded index and models, with some config fields changed."""
        other = object.__new__(Engine)
        other.__dict__.update(self.__dict__)
        other.config = replace(self.config, **changes)
        other._pipelines = {}
        for key, value in changes.items():
            if key in _STAGE_ATTRS and getattr(self.config, key) != value:
                other.__dict__.pop(_STAGE_ATTRS[key], None)
        return other

    @staticmethod
    def build_index(
        paths: Sequence[str | Path] | Iterable[Document],
        name: str,
        *,
        root: str | Path | None = None,
        embedder: str | Embedder = "minilm-onnx-int8",
        tokenizer: str = "smollm2-135m-instruct",
        chunk_size: int = 128,
        chunk_overlap: int = 16,
        dense_kind: str = "flat",
        text_field: str = "text",
        progress: bool = False,
        report: LoadReport | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
        clusters: bool = False,
        cluster_options: dict[str, Any] | None = None,
    ) -> Manifest:
        """Index files, folders or Documents into ``root/name`` atomically; returns the manifest.

        ``clusters=True`` also builds CRAG clusters with extractive summaries (``cluster_options``
        go to ``ragengine.cluster.build_clusters``, e.g. ``{"summary": "abstractive", "generator": g}``).
        """
        items = list(paths) if not isinstance(paths, list) else paths
        emb = get_embedder(embedder) if isinstance(embedder, str) else embedder
        chunker = Chunker(get_token_counter(tokenizer), chunk_size, chunk_overlap)
        if items and all(isinstance(p, Document) for p in items):
            docs: Iterable[Document] = items  # type: ignore[assignment]
            sources: list[str] = []
        else:
            sources = [str(p) for p in items]
            docs = iter_documents(items, text_field=text_field, report=report)  # type: ignore[arg-type]
        return build_index(
            docs,
            name,
            embedder=emb,
            chunker=chunker,
            root=root,
            dense_kind=dense_kind,
            progress=progress,
            sources=sources,
            on_progress=on_progress,
            clusters=clusters,
            cluster_options=cluster_options,
        )

    def add_clusters(self, **options: Any) -> dict[str, Any]:
        """Build (or rebuild) this index's CRAG clusters in place; returns their parameters and cost.

        ``options`` go to ``ragengine.cluster.build_clusters`` (``seed``, ``n_clusters``,
        ``summary="abstractive"`` with ``generator=``...). The index version changes.
        """
        from ragengine.index.store import add_clusters

        info = add_clusters(self.folder, self.embedder, get_token_counter(self.manifest.tokenizer), options)
        self.manifest = Manifest.read(self.folder)
        for attr in ("_index", "_clusters", "_augmenter", "_trigger", "_rewriter"):
            self.__dict__.pop(attr, None)
        self._index = None
        self._pipelines = {}
        return info
