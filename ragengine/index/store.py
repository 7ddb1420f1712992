"""Build an index atomically, and load one with its manifest checked.

An index is a folder ``indexes/NAME/``: ``chunks.jsonl``, ``dense.faiss``, ``vectors.npy``
(float16, for rewards that need chunk vectors), ``bm25/`` and ``manifest.json``. Building
writes into a hidden temp folder beside it and renames it into place only when complete, so
an interrupted or failed build leaves an existing index of the same name intact.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.embed.base import Embedder
from ragengine.errors import EmptyCorpus, IndexNotFound, InvalidInput
from ragengine.index.bm25 import PARAMS as BM25_PARAMS
from ragengine.index.bm25 import BM25Index
from ragengine.index.chunk_store import read_chunks, write_chunks
from ragengine.index.dense import DenseIndex
from ragengine.index.manifest import MANIFEST, Manifest
from ragengine.ingest.chunking import Chunker
from ragengine.tokens import TokenCounter
from ragengine.types import Chunk, Document

log = logging.getLogger(__name__)
VECTORS = "vectors.npy"
TERM_ENCODER = "all-MiniLM-L6-v2-onnx-int8"  # the encoder the shipped term weights were trained on
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def default_root() -> Path:
    return Path(os.environ.get("RAGENGINE_INDEXES", "indexes"))


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(f"index name {name!r} must be 1-100 letters, digits, '.', '_' or '-', not starting with '.'")
    return name


def list_indexes(root: str | Path | None = None) -> list[str]:
    """Names of the complete indexes under ``root`` (folders with a manifest)."""
    base = Path(root) if root is not None else default_root()
    return sorted(d.name for d in base.iterdir() if (d / MANIFEST).is_file()) if base.is_dir() else []


def resolve_index_dir(name_or_path: str | Path, root: str | Path | None = None) -> Path:
    """A folder holding a manifest, or ``root/NAME``; IndexNotFound lists what exists."""
    p = Path(name_or_path)
    if (p / MANIFEST).is_file():
        return p
    base = Path(root) if root is not None else default_root()
    cand = base / str(name_or_path)
    if (cand / MANIFEST).is_file():
        return cand
    have = list_indexes(base)
    listing = ", ".join(have) if have else "none"
    raise IndexNotFound(
        f"no index named {str(name_or_path)!r} in {base}/ (indexes there: {listing}); "
        f"build it with `ragengine index PATH --name {name_or_path}`"
    )


@dataclass
class LoadedIndex:
    folder: Path
    manifest: Manifest
    chunks: list[Chunk]
    dense: DenseIndex
    bm25: BM25Index
    vectors: np.ndarray

    @classmethod
    def load(
        cls, folder: Path, *, embedder: str | None = None, tokenizer: str | None = None, verify: bool = True
    ) -> LoadedIndex:
        manifest = Manifest.read(folder)
        manifest.check_compatible(embedder=embedder, tokenizer=tokenizer)
        if verify:
            manifest.verify_files(folder)
        chunks = read_chunks(folder)
        vectors = np.load(folder / VECTORS, allow_pickle=False, mmap_mode="r")
        return cls(
            folder, manifest, chunks, DenseIndex.load(folder, manifest.dense_kind), BM25Index.load(folder), vectors
        )


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
    base = Path(root) if root is not None else default_root()
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
    from ragengine.embed.base import l2_normalise

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
