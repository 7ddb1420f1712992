"""The index-time flow: load -> chunk -> embed -> BM25 / FAISS -> term weights -> clusters, atomically.

``build_index`` writes every file of a new index into a hidden temp folder beside its final
place and renames it into place only when complete, so an interrupted or failed build leaves
an existing index of the same name intact. ``add_clusters`` adds (or rebuilds) the CRAG
clusters of an existing index the same way. Cost: one MiniLM pass over the chunk texts (it
gives the dense vectors and the term weights together), a BM25 and a FAISS build, and for
clusters a k-means over the chunk vectors plus one sentence-embedding pass.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.embed.base import Embedder, l2_normalise
from ragengine.errors import EmptyCorpus
from ragengine.index.bm25 import PARAMS as BM25_PARAMS
from ragengine.index.bm25 import BM25Index
from ragengine.index.chunk_store import write_chunks
from ragengine.index.dense import DenseIndex
from ragengine.index.manifest import Manifest
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
    base.mkdir(parents=True, exist_ok=True)
    final = base / name
    tmp = base / f".{name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
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
        texts = [c.text for c in chunks]
        if embedder.id == TERM_ENCODER and with_terms:
            # one MiniLM pass gives both the dense vectors and the TILDE term weights (terms.npz)
            from ragengine.rerank.index_terms import write_terms

            tell("embedding", 0, len(texts))
            vectors = write_terms(tmp, texts, progress=progress)
        elif on_progress is None:
            vectors = embedder.embed(texts, progress=progress)
        else:
            parts = []
            for start in range(0, len(texts), 256):
                tell("embedding", start, len(texts))
                parts.append(embedder.embed(texts[start : start + 256]))
            vectors = np.concatenate(parts)
        tell("embedding", len(texts), len(texts))
        tell("indexing", 0, 1)
        np.save(tmp / VECTORS, vectors.astype(np.float16), allow_pickle=False)
        DenseIndex.build(vectors, dense_kind).save(tmp)
        BM25Index.build(texts).save(tmp)
        if clusters:
            tell("clustering", 0, 1)
            write_clusters(tmp, chunks, vectors, embedder, chunker.counter, cluster_options)
            tell("clustering", 1, 1)
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
        manifest.write(tmp)
        tell("indexing", 1, 1)
        old = None
        if final.exists():
            old = base / f".{name}.old-{uuid.uuid4().hex[:8]}"
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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

    idx = LoadedIndex.load(folder, embedder=embedder.id)
    tmp = folder / f".{CLUSTER_DIR}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        info = write_clusters(tmp, idx.chunks, np.asarray(idx.vectors), embedder, counter, options)
        final = folder / CLUSTER_DIR
        if final.exists():
            shutil.rmtree(final)
        (tmp / CLUSTER_DIR).rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    idx.manifest.write(folder)
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
) -> Manifest:
    """Load files and folders (or take Documents), then ``build_index`` them into ``root/name``."""
    items = list(paths) if not isinstance(paths, list) else paths
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
