"""From paths (files, folders, globs) or Documents to ``build_index`` / ``update_index``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ragengine.embed.base import Embedder
from ragengine.index.manifest import Manifest
from ragengine.indexing.plan import BuildReport
from ragengine.indexing.versions import build_index, update_index
from ragengine.ingest.chunking import Chunker
from ragengine.ingest.loaders import LoadReport, iter_documents
from ragengine.tokens import get_token_counter
from ragengine.types import Document


def _documents(
    paths: Sequence[str | Path] | Iterable[Document],
    text_field: str,
    report: LoadReport | None,
    include: Sequence[str],
    exclude: Sequence[str],
    relative_ids: bool = False,
) -> tuple[Iterable[Document], list[str]]:
    items = list(paths) if not isinstance(paths, list) else paths
    if items and all(isinstance(p, Document) for p in items):
        return items, []  # type: ignore[return-value]
    files: list[Any] = list(items)
    docs = iter_documents(
        files, text_field=text_field, report=report, include=include, exclude=exclude, relative_ids=relative_ids
    )
    return docs, [str(p) for p in items]


def index_paths(
    paths: Sequence[str | Path] | Iterable[Document],
    name: str,
    *,
    embedder: Embedder,
    root: str | Path | None = None,
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
    """Load files and folders (or take Documents), then ``build_index`` them into ``root/name``.

    ``include`` / ``exclude``: glob patterns over the files of the folders given (``*.md``, ``img/*``).
    ``relative_ids``: documents named by their path inside the folder given (``iter_documents``).
    ``store``: build into a database store as a new version instead (``remote.in_store``);
    ``ray``: run the encoder pass on Ray (an address, or True for a local Ray; ``distributed``).
    """
    if ray or store:
        args = {k: v for k, v in locals().items() if k not in ("ray", "store", "root")}
        if ray:
            from ragengine.indexing.distributed import on_ray

            with on_ray(None if ray is True else str(ray)):
                return index_paths(**args, root=root, store=store)
        from ragengine.indexing.remote import in_store

        return in_store(store or "", name, lambda r: index_paths(**args, root=r), lend=not rebuild)
    chunker = Chunker(get_token_counter(tokenizer), chunk_size, chunk_overlap)
    docs, sources = _documents(paths, text_field, report, include, exclude, relative_ids)
    return build_index(
        docs,
        name,
        embedder=embedder,
        chunker=chunker,
        root=root,
        dense_kind=dense_kind,
        progress=progress,
        sources=sources,
        on_progress=on_progress,
        clusters=clusters,
        cluster_options=cluster_options,
        rebuild=rebuild,
        build_report=build_report,
        doc_ids="relative" if relative_ids else "path",
    )


def update_paths(
    paths: Sequence[str | Path] | Iterable[Document],
    manifest: Manifest,
    *,
    embedder: Embedder,
    root: str | Path | None = None,
    text_field: str = "text",
    progress: bool = False,
    report: LoadReport | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    remove: Sequence[str] = (),
    build_report: BuildReport | None = None,
    relative_ids: bool | None = None,
) -> Manifest:
    """Add or replace the documents of ``paths`` in the index ``manifest`` describes (or remove ids).

    The chunker is the one the index was built with (from its manifest), so chunk ids and token
    counts agree with the chunks kept; ``relative_ids=None`` names files as the index did
    (``manifest.doc_ids``), so a file added again replaces its document instead of doubling it.
    """
    if relative_ids is None:
        relative_ids = manifest.doc_ids == "relative"
    ch = manifest.chunking
    chunker = Chunker(get_token_counter(manifest.tokenizer), int(ch["chunk_size"]), int(ch["chunk_overlap"]))
    docs, _ = _documents(paths, text_field, report, include, exclude, relative_ids) if paths else ((), [])
    return update_index(
        docs,
        manifest.name,
        embedder=embedder,
        chunker=chunker,
        root=root,
        progress=progress,
        on_progress=on_progress,
        mode="remove" if remove else "add",
        remove=remove,
        build_report=build_report,
    )
