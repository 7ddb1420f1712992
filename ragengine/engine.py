"""The public entry point: build an index, open it, ask questions under a token budget.

>>> from ragengine import Engine, Budget
>>> engine = Engine.from_index("demo")  # doctest: +SKIP
>>> answer = engine.ask("Who founded the city?", budget=Budget(context_tokens=256))  # doctest: +SKIP
>>> answer.text, answer.cost.context_tokens  # doctest: +SKIP

Constructors are light: the index, embedder and generator load on the first question (or on
``warm_up()``). Replacing a stage is one keyword argument: ``generator=``, ``embedder=``,
``retriever=``, ``reranker=``, ``rewriter=``, ``augmenter=``, ``cache=`` or ``selector=`` take an
object satisfying that stage's Protocol (``ragengine.stages``); config strings pick the shipped ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragengine.budget import Budget
from ragengine.config import EngineConfig
from ragengine.embed.base import Embedder
from ragengine.embed.registry import get_embedder
from ragengine.errors import IndexChanged
from ragengine.generate.base import Generator, default_generator_name, get_generator
from ragengine.index.base import ChunkStore
from ragengine.index.manifest import Manifest
from ragengine.index.store import list_indexes, resolve_index_dir
from ragengine.ingest.loaders import LoadReport
from ragengine.overview import cluster_overview, corpus_stats
from ragengine.pipeline import Pipeline
from ragengine.select.base import Selector
from ragengine.stages import CRAG_DEFAULTS, StageFactory, Stages
from ragengine.tokens import TokenCounter
from ragengine.types import Answer, Document, Retrieved

if TYPE_CHECKING:
    from ragengine.indexing import BuildReport

__all__ = ["CRAG_DEFAULTS", "Engine"]


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
        source: Any = None,
        **stages: Any,
    ) -> None:
        self.folder = folder
        self._source = source
        manifest = Manifest.read(folder)
        emb_id = embedder if isinstance(embedder, str) or embedder is None else embedder.id
        if isinstance(emb_id, str):
            emb_id = get_embedder(emb_id).id
        manifest.check_compatible(embedder=emb_id)
        self.config = config or EngineConfig()
        gen = default_generator_name() if generator is None else generator
        self.generator: Generator | None = (
            get_generator(gen, **(generator_options or {})) if isinstance(gen, str) else gen
        )
        own = embedder if embedder is not None and not isinstance(embedder, str) else None
        opener = None if source is None else source.open
        self._factory = StageFactory(
            folder, manifest, self.config, self.generator, own, emb_id or manifest.embedder, stages, opener
        )

    @classmethod
    def from_index(
        cls,
        name_or_path: str | Path,
        *,
        root: str | Path | None = None,
        store: str | None = None,
        store_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Engine:
        """Open ``indexes/NAME`` (or a folder path), or index NAME in a database ``store``
        (``postgresql://USER@HOST:PORT/DB``; ``store_options``: ``lexical``, ``ef_search``, ``exact``,
        ``fusion``, ``poll_s``). Raises IndexNotFound / IndexMismatch / StoreUnavailable with the fix."""
        if store is not None:
            from ragengine.index.pg_store import PgSource

            source = PgSource(store, str(name_or_path), **(store_options or {}))
            return cls(source.folder(), source=source, **kwargs)
        return cls(resolve_index_dir(name_or_path, root), **kwargs)

    @property
    def store(self) -> str | None:
        """The database store this engine reads (password masked), or None for a local folder."""
        return None if self._source is None else str(self._source.label)

    def _follow(self, force: bool = False) -> None:
        """Move to a store's newer version when one was published (a cheap poll, at most every poll_s)."""
        src = self._source
        if src is not None and src.changed(time.monotonic(), force):
            self.folder = src.folder()
            self._factory.forget_index(self.folder, src.open)

    # the loaded parts, for tools that inspect an engine (console, eval harness)
    @property
    def manifest(self) -> Manifest:
        return self._factory.manifest

    @property
    def index(self) -> ChunkStore:
        return self._factory.index

    @property
    def embedder(self) -> Embedder:
        return self._factory.embedder

    @property
    def counter(self) -> TokenCounter:
        return self._factory.counter

    @property
    def has_clusters(self) -> bool:
        return self._factory.has_clusters

    @property
    def clusters(self) -> Any:
        return self._factory.clusters

    @property
    def reranker(self) -> Any:
        return self._factory.reranker

    @property
    def augmenter(self) -> Any:
        return self._factory.augmenter

    @property
    def rewriter(self) -> Any:
        return self._factory.rewriter

    @property
    def trigger(self) -> Any:
        return self._factory.cache

    @property
    def cache(self) -> Any:
        """The semantic answer cache (``config.cache``), or None."""
        trigger = self.trigger
        return None if trigger is None else getattr(trigger, "cache", None)

    def stages(self, strategy: str | None = None, selector: Selector | None = None) -> Stages:
        """The frozen bundle of stages a question runs through."""
        return self._factory.stages(strategy, selector)

    def pipeline(self, strategy: str | None = None, selector: Selector | None = None) -> Pipeline:
        self._follow()
        return Pipeline(self.stages(strategy, selector), self._factory.settings())

    def warm_up(self) -> Engine:
        """Load the index and models now rather than on the first question."""
        self.pipeline(self.config.strategy)
        self.embedder.embed(["warm up"])
        load = getattr(self.generator, "load", None)
        if callable(load):
            load()
        return self

    def ask(
        self,
        question: str,
        budget: Budget | int = 512,
        *,
        strategy: str | None = None,
        selector: Selector | None = None,
        retrieved: Retrieved | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer under ``budget`` (a Budget or an int of context tokens).

        ``retrieved`` (from ``engine.retrieve(question)``) skips retrieval: a what-if over budgets or
        strategies then re-runs only selection (and generation, if a generator is set).
        ``on_text`` receives the answer as the reader writes it (for streaming).
        """
        try:
            pipe = self.pipeline(strategy, selector)
            return pipe.run(question, _as_budget(budget), retrieved=retrieved, on_text=on_text)
        except IndexChanged:  # the store dropped the version this engine read: move on and ask again
            self._follow(force=True)
            pipe = self.pipeline(strategy, selector)
            return pipe.run(question, _as_budget(budget), retrieved=retrieved, on_text=on_text)

    def retrieve(self, question: str) -> Retrieved:
        """The fused candidates for ``question`` (no selection, no generation)."""
        return self.pipeline().retrieve(question)

    def ask_many(self, questions: Iterable[str], budget: Budget | int = 512, **kwargs: Any) -> Iterator[Answer]:
        b = _as_budget(budget)
        for q in questions:
            yield self.ask(q, b, **kwargs)

    @staticmethod
    def push_index(name_or_path: str | Path, store: str, *, root: str | Path | None = None, name: str = "") -> Manifest:
        """Copy a local index into a database ``store`` as ``name``'s new version (nothing re-encoded)."""
        from ragengine.indexing.remote import push

        return push(resolve_index_dir(name_or_path, root), store, name or None)

    @staticmethod
    def list_indexes(root: str | Path | None = None, *, store: str | None = None) -> list[str]:
        """Names of the indexes under ``root`` (default ./indexes or $RAGENGINE_INDEXES), or in ``store``."""
        if store is not None:
            from ragengine.index.pg_store import store_names

            return store_names(store)
        return list_indexes(root)

    def corpus_stats(self) -> dict[str, Any]:
        """Counts and chunk sizes of the loaded index (for the console and ``ragengine info``)."""
        return corpus_stats(self.index.chunks)

    def documents(self) -> dict[str, int]:
        """Document id -> number of chunks, in index order (the ids ``remove_documents`` takes)."""
        out: dict[str, int] = {}
        for c in self.index.chunks:
            out[c.doc_id] = out.get(c.doc_id, 0) + 1
        return out

    def cluster_overview(self, top_documents: int = 5) -> dict[str, Any]:
        """The index's CRAG clusters for people: parameters, and per cluster its size, main documents
        and stored summary. ``{"clusters": []}`` when the index has none."""
        cs = self.clusters if self.has_clusters else None
        return cluster_overview(cs, self.index.chunks if cs is not None else [], top_documents)

    def info(self) -> dict[str, Any]:
        where = {"path": str(self.folder)} if self._source is None else {"store": self.store}
        return {**asdict(self.manifest), **where, "version": self.manifest.version}

    def with_config(self, **changes: Any) -> Engine:
        """A copy sharing the loaded index, models and unchanged stages, with some config fields changed."""
        other = object.__new__(Engine)
        other.__dict__.update(self.__dict__)
        other.config = replace(self.config, **changes)
        other._factory = self._factory.with_config(other.config)
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
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        rebuild: bool = False,
        build_report: BuildReport | None = None,
        relative_ids: bool = False,
        store: str | None = None,
        ray: str | bool | None = None,
    ) -> Manifest:
        """Index files, folders or Documents into ``root/name`` atomically; returns the manifest.

        ``clusters=True`` also builds CRAG clusters with extractive summaries (``cluster_options``
        go to ``ragengine.cluster.build_clusters``, e.g. ``{"summary": "abstractive", "generator": g}``).
        ``include`` / ``exclude`` are glob patterns over the files of the folders given (``*.md``).
        An existing index of that name built with the same settings lends its unchanged documents
        (nothing re-encoded; ``rebuild=True`` encodes all); ``build_report`` receives the counts.
        ``relative_ids``: name files by their path inside the folder given, not the path as given.
        ``store``: build into a database (``postgresql://...``) as a new version of ``name`` instead.
        ``ray``: encode on a Ray cluster (its address, or True for a local Ray; ``ragengine[ray]``).
        """
        from ragengine.indexing import index_paths

        return index_paths(
            paths,
            name,
            root=root,
            embedder=get_embedder(embedder) if isinstance(embedder, str) else embedder,
            tokenizer=tokenizer,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            dense_kind=dense_kind,
            text_field=text_field,
            progress=progress,
            report=report,
            on_progress=on_progress,
            clusters=clusters,
            cluster_options=cluster_options,
            include=include,
            exclude=exclude,
            rebuild=rebuild,
            build_report=build_report,
            relative_ids=relative_ids,
            store=store,
            ray=ray,
        )

    def add_documents(
        self,
        paths: Sequence[str | Path] | Iterable[Document],
        *,
        text_field: str = "text",
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        progress: bool = False,
        report: LoadReport | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
        relative_ids: bool | None = None,
    ) -> BuildReport:
        """Add (or replace, by document id) files, folders or Documents in this index, in place.

        Files are named as the index named them (``relative_ids=None``: ``manifest.doc_ids``).

        Only new and changed documents are encoded; clusters are refreshed from stored vectors. The
        index version changes (cached answers of the old one are not served); this engine reloads it.
        """
        from ragengine.indexing import BuildReport, update_paths

        out = BuildReport()

        def change(root: Path) -> None:
            update_paths(
                paths,
                self.manifest,
                embedder=self.embedder,
                root=root,
                text_field=text_field,
                progress=progress,
                report=report,
                on_progress=on_progress,
                include=include,
                exclude=exclude,
                build_report=out,
                relative_ids=relative_ids,
            )

        self._change(change)
        return out

    def _change(self, change: Callable[[Path], Any]) -> Any:
        """Run ``change(root)`` on this index's folder (in place) or on a checkout of its store, then reload."""
        if self._source is None:
            got = change(self.folder.parent)
            self._factory.forget_index()
            return got
        from ragengine.indexing.remote import in_store

        got = in_store(self._source.url, self.manifest.name, change, need=True)
        self._follow(force=True)
        return got

    def remove_documents(self, doc_ids: Sequence[str]) -> BuildReport:
        """Remove documents by id from this index, in place (a new version; this engine reloads it)."""
        from ragengine.indexing import BuildReport, update_paths

        ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        if not ids:
            from ragengine.errors import InvalidInput

            raise InvalidInput("give at least one document id to remove")
        out = BuildReport()
        self._change(
            lambda root: update_paths(
                [], self.manifest, embedder=self.embedder, root=root, remove=ids, build_report=out
            )
        )
        return out

    def add_clusters(self, **options: Any) -> dict[str, Any]:
        """Build (or rebuild) this index's CRAG clusters in place; returns their parameters and cost.

        ``options`` go to ``ragengine.cluster.build_clusters`` (``seed``, ``n_clusters``,
        ``summary="abstractive"`` with ``generator=``...). The index version changes.
        """
        from ragengine.indexing import add_clusters
        from ragengine.tokens import get_token_counter

        counter = get_token_counter(self.manifest.tokenizer)
        name = self.folder.name if self._source is None else self.manifest.name
        return dict(self._change(lambda root: add_clusters(root / name, self.embedder, counter, options)))
