"""The index-time flow: load -> chunk -> embed -> BM25 / FAISS -> term weights -> clusters, atomically.

``build_index`` writes every file of a new index into a hidden temp folder beside its final
place and swaps it in only when complete (``ragengine.index.publish``), so an interrupted or
failed build leaves an existing index of the same name serving. ``add_clusters`` adds (or
rebuilds) the CRAG clusters of an existing index the same way: a new version beside it (hard
links to the unchanged files) swapped in whole. A write that fails for the disk (read-only
folder, full disk) is an ``IndexWriteFailed`` naming the folder, with nothing left half-written.
Cost: one MiniLM pass over the chunk texts (it gives the dense vectors and the term weights
together), a BM25 and a FAISS build, and for clusters a k-means over the chunk vectors plus one
sentence-embedding pass.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.embed.base import Embedder, l2_normalise
from ragengine.errors import EmptyCorpus, IndexWriteFailed
from ragengine.index.bm25 import PARAMS as BM25_PARAMS
from ragengine.index.bm25 import BM25Index
from ragengine.index.chunk_store import write_chunks
from ragengine.index.dense import DenseIndex
from ragengine.index.manifest import Manifest
from ragengine.index.publish import clean_leftovers, failpoint, new_temp, publish, stage_copy, writer_lock
from ragengine.index.store import TERM_ENCODER, VECTORS, LoadedIndex, check_name
from ragengine.ingest.chunking import Chunker
from ragengine.ingest.loaders import LoadReport, iter_documents
from ragengine.paths import index_root
from ragengine.tokens import TokenCounter, get_token_counter
from ragengine.types import Chunk, Document


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
) -> Manifest:
    """Chunk, embed and index ``docs`` into ``root/name``, replacing an old index only on success.

    ``on_progress(stage, done, total)`` is called as work advances (stages: chunking, embedding,
    clustering, indexing; total is 0 while unknown), for progress bars outside a terminal.
    ``clusters``: also build CRAG clusters and summaries (``clusters/``, checksummed like the
    rest); ``cluster_options`` go to ``ragengine.cluster.build_clusters`` (seed, summary, ...).
    """

    def tell(stage: str, done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(stage, done, total)

    check_name(name)
    base = index_root(root)
    with _writing(base, name):
        tmp = new_temp(base, name)
        try:
            manifest, chunks, vectors = _build_into(
                tmp, docs, name, embedder, chunker, dense_kind, progress, sources, tell, with_terms, on_progress is None
            )
            if clusters:
                tell("clustering", 0, 1)
                write_clusters(tmp, chunks, vectors, embedder, chunker.counter, cluster_options)
                tell("clustering", 1, 1)
            manifest.write(tmp)
            tell("indexing", 1, 1)
            failpoint("written")
            publish(tmp, base / name)
            return manifest
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


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


def _build_into(
    tmp: Path,
    docs: Iterable[Document],
    name: str,
    embedder: Embedder,
    chunker: Chunker,
    dense_kind: str,
    progress: bool,
    sources: list[str] | None,
    tell: Callable[[str, int, int], None],
    with_terms: bool,
    one_pass: bool,
) -> tuple[Manifest, list[Chunk], np.ndarray]:
    """Chunk, embed and write chunks, vectors, FAISS, BM25 (and term weights) into ``tmp``."""
    n_docs: set[str] = set()
    chunks: list[Chunk] = []
    stream = chunker.chunks(docs)
    if progress:
        from tqdm import tqdm

        stream = tqdm(stream, desc="chunking", unit="chunk", leave=False)
    for c in stream:
        chunks.append(c)
        n_docs.add(c.doc_id)
        if len(chunks) % 200 == 0:
            tell("chunking", len(chunks), 0)
    if not chunks:
        raise EmptyCorpus("the input held no text to index (every file was empty, unsupported or skipped)")
    tell("chunking", len(chunks), len(chunks))
    write_chunks(tmp, chunks)
    failpoint("chunked")
    texts = [c.text for c in chunks]
    if embedder.id == TERM_ENCODER and with_terms:
        # one MiniLM pass gives both the dense vectors and the TILDE term weights (terms.npz)
        from ragengine.rerank.index_terms import write_terms

        tell("embedding", 0, len(texts))
        vectors = write_terms(tmp, texts, progress=progress)
    elif one_pass:
        vectors = embedder.embed(texts, progress=progress)
    else:
        parts = []
        for start in range(0, len(texts), 256):
            tell("embedding", start, len(texts))
            parts.append(embedder.embed(texts[start : start + 256]))
        vectors = np.concatenate(parts)
    tell("embedding", len(texts), len(texts))
    failpoint("embedded")
    tell("indexing", 0, 1)
    np.save(tmp / VECTORS, vectors.astype(np.float16), allow_pickle=False)
    DenseIndex.build(vectors, dense_kind).save(tmp)
    BM25Index.build(texts).save(tmp)
    manifest = Manifest(
        name=name,
        embedder=embedder.id,
        dim=int(vectors.shape[1]),
        tokenizer=chunker.counter.name,
        chunking=chunker.params(),
        dense_kind=dense_kind,
        bm25=dict(BM25_PARAMS),
        n_documents=len(n_docs),
        n_chunks=len(chunks),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        sources=sources or [],
    )
    return manifest, chunks, vectors


def write_clusters(
    folder: Path,
    chunks: list[Chunk],
    vectors: np.ndarray,
    embedder: Embedder,
    counter: TokenCounter,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Cluster ``chunks`` and save ``folder/clusters/``; returns the clusters' parameters and indexing cost."""
    from ragengine.cluster import build_clusters, save_clusters

    x = l2_normalise(np.asarray(vectors, dtype=np.float32))
    cs = build_clusters(chunks, x, counter, embedder=embedder, **(options or {}))
    save_clusters(folder, cs)
    return {**cs.params, "indexing": cs.indexing}


def add_clusters(
    folder: Path, embedder: Embedder, counter: TokenCounter, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build (or rebuild) the CRAG clusters of an existing index and re-checksum its manifest.

    The clusters are written to a temp folder and swapped in, so a failure leaves the index as it
    was. The manifest's version changes (answer caches keyed to the old version are not served).
    """
    from ragengine.cluster import CLUSTER_DIR

    base, name = folder.parent, folder.name
    with _writing(base, name):
        idx = LoadedIndex.load(folder, embedder=embedder.id)
        tmp = new_temp(base, name)
        try:
            stage_copy(folder, tmp, skip={CLUSTER_DIR})
            failpoint("staged")
            info = write_clusters(tmp, idx.chunks, np.asarray(idx.vectors), embedder, counter, options)
            failpoint("clustered")
            idx.manifest.write(tmp)
            publish(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return info


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
) -> Manifest:
    """Load files and folders (or take Documents), then ``build_index`` them into ``root/name``.

    ``include`` / ``exclude``: glob patterns over the files of the folders given (``*.md``, ``img/*``).
    """
    items = list(paths) if not isinstance(paths, list) else paths
    chunker = Chunker(get_token_counter(tokenizer), chunk_size, chunk_overlap)
    if items and all(isinstance(p, Document) for p in items):
        docs: Iterable[Document] = items  # type: ignore[assignment]
        sources: list[str] = []
    else:
        sources = [str(p) for p in items]
        files: list[Any] = list(items)
        docs = iter_documents(files, text_field=text_field, report=report, include=include, exclude=exclude)
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
    )
