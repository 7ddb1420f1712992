"""Build, update and shrink an index by name, each change one atomic new version.

``build_index`` writes every file of a new version into a hidden temp folder beside its final
place and swaps it in only when complete (``ragengine.index.publish``), so an interrupted or
failed build leaves the version before it serving. When an index of that name already exists
with the same embedder, tokenizer, chunking and dense kind, the build reuses what did not change:
unchanged documents (by content hash) are neither chunked nor encoded, and ``index`` over the
same files encodes nothing. ``update_index`` adds or replaces documents and keeps the rest;
``remove_documents`` drops documents by id. A write that fails for the disk (read-only folder,
full disk) is an ``IndexWriteFailed`` naming the folder, with nothing left half-written.
Cost: one MiniLM pass over the new chunks' tokens (dense vectors, term weights and sentence
vectors together), then a BM25 and a FAISS build and, with clusters, a k-means over all chunks.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ragengine.embed.base import Embedder
from ragengine.errors import IndexNotFound, IndexWriteFailed
from ragengine.index.manifest import MANIFEST, Manifest
from ragengine.index.publish import clean_leftovers, failpoint, new_temp, publish, writer_lock
from ragengine.index.store import check_name
from ragengine.indexing.build import VersionSpec, write_version
from ragengine.indexing.plan import BuildReport
from ragengine.indexing.previous import Previous, load_previous
from ragengine.indexing.progress import Progress
from ragengine.ingest.chunking import Chunker
from ragengine.paths import index_root
from ragengine.types import Document


def build_index(
    docs: Iterable[Document],
    name: str,
    *,
    embedder: Embedder,
    chunker: Chunker,
    root: str | Path | None = None,
    dense_kind: str = "flat",
    progress: bool = False,
    sources: list[str] | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    with_terms: bool = True,
    clusters: bool = False,
    cluster_options: dict[str, Any] | None = None,
    rebuild: bool = False,
    build_report: BuildReport | None = None,
    doc_ids: str = "path",
) -> Manifest:
    """Chunk, embed and index ``docs`` into ``root/name``, replacing an old version only on success.

    ``on_progress(stage, done, total)`` is called as work advances (stages: chunking, embedding,
    clustering, indexing; total is 0 while unknown), for progress bars outside a terminal.
    ``clusters``: also build CRAG clusters and summaries (``clusters/``, checksummed like the
    rest); ``cluster_options`` go to ``ragengine.cluster.build_clusters`` (seed, summary, ...).
    ``rebuild``: encode everything even where the existing version could lend its vectors.
    ``build_report`` is filled with what was new, changed, unchanged, removed and encoded.
    ``doc_ids``: how the files were named (``Manifest.doc_ids``), recorded for later updates.
    """
    spec = VersionSpec(name, embedder, chunker, dense_kind, with_terms, clusters, cluster_options, sources, doc_ids)
    report = build_report if build_report is not None else BuildReport()
    return _new_version(spec, root, docs, progress, on_progress, report, reuse=not rebuild, mode="sync")


def update_index(
    docs: Iterable[Document],
    name: str,
    *,
    embedder: Embedder,
    chunker: Chunker,
    root: str | Path | None = None,
    progress: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
    mode: str = "add",
    remove: Sequence[str] = (),
    build_report: BuildReport | None = None,
) -> Manifest:
    """Add or replace ``docs`` in the existing index ``name`` (``mode="add"``), or drop the ids ``remove``.

    Only new and changed documents are chunked and encoded; everything else is kept, clusters are
    rebuilt from stored vectors (no encoding), and the manifest's version changes, so an answer
    cache keyed to the old version serves nothing stale. The embedder and chunker must be those
    the index was built with (``ragengine.engine.Engine.add_documents`` picks them from its manifest).
    """
    check_name(name)
    folder = index_root(root) / name
    if not (folder / MANIFEST).is_file():
        raise IndexNotFound(f"no index named {name!r} in {folder.parent}/; build it first with `ragengine index`")
    old = Manifest.read(folder)
    from ragengine.cluster import has_clusters

    clusters = has_clusters(folder)
    spec = VersionSpec(name, embedder, chunker, old.dense_kind, True, clusters, None, old.sources, old.doc_ids)
    report = build_report if build_report is not None else BuildReport()
    return _new_version(spec, root, docs, progress, on_progress, report, reuse=True, mode=mode, remove=remove)


def _new_version(
    spec: VersionSpec,
    root: str | Path | None,
    docs: Iterable[Document],
    bar: bool,
    on_progress: Callable[[str, int, int], None] | None,
    report: BuildReport,
    *,
    reuse: bool,
    mode: str,
    remove: Sequence[str] = (),
) -> Manifest:
    check_name(spec.name)
    base = index_root(root)
    progress = Progress(bar, on_progress)
    with _writing(base, spec.name):
        previous = _previous(base / spec.name, spec, report) if reuse else None
        if mode != "sync" and previous is None:
            raise IndexNotFound(
                f"index {spec.name!r} cannot be updated in place (it is missing, unreadable or was built with "
                "other settings); rebuild it with `ragengine index PATH --name NAME`"
            )
        tmp = new_temp(base, spec.name)
        try:
            manifest = write_version(
                tmp, _counted(docs, progress), spec, previous, progress, report, mode=mode, remove=remove
            )
            manifest.write(tmp)
            progress.tell("indexing", 1, 1)
            failpoint("written")
            publish(tmp, base / spec.name)
            return manifest
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _previous(folder: Path, spec: VersionSpec, report: BuildReport) -> Previous | None:
    previous = load_previous(folder, spec.settings(), embedder=spec.embedder.id, with_terms=spec.with_terms)
    if previous is not None and spec.clusters and spec.cluster_options is None and previous.cluster_params:
        spec.cluster_options = _same_clusters(previous.cluster_params, report)
    return previous


def _same_clusters(params: dict[str, Any], report: BuildReport) -> dict[str, Any]:
    """The options that rebuild clusters like the previous version's (extractive where they were abstractive)."""
    opts: dict[str, Any] = {k: params[k] for k in ("seed", "summary_cap_tokens", "niter") if k in params}
    if params.get("k_rule") == "given" and "k" in params:
        opts["n_clusters"] = int(params["k"])
    if params.get("summary") == "abstractive":
        report.notes.append(
            "cluster summaries were abstractive and are now extractive (they need the LLM): "
            "run `ragengine cluster NAME --summary abstractive` to write them again"
        )
    return opts


def _counted(docs: Iterable[Document], progress: Progress) -> Iterator[Document]:
    """``docs`` passed through, telling the progress callback every 200 documents read (and a bar)."""
    bar: Any = None
    if progress.bar:
        from tqdm import tqdm

        bar = tqdm(desc="reading + chunking", unit="doc", leave=False)
    try:
        for n, d in enumerate(docs, 1):
            if n % 200 == 0:
                progress.tell("chunking", n, 0)
            if bar is not None:
                bar.update(1)
            yield d
    finally:
        if bar is not None:
            bar.close()


@contextmanager
def _writing(base: Path, name: str) -> Iterator[None]:
    """Hold the index's writer lock, clear what killed writers left, and type disk failures."""
    try:
        base.mkdir(parents=True, exist_ok=True)
        with writer_lock(base, name):
            clean_leftovers(base, name)
            yield
    except IndexWriteFailed:
        raise
    except OSError as e:
        raise IndexWriteFailed(
            f"could not write index {name!r} in {base}: {e.strerror or e} (the previous version, if any, is intact)"
        ) from e
