"""What an index's current version can lend to its next one: chunks, vectors, term weights, sentences.

An update (or a rebuild of the same name with the same settings) reuses a chunk whose id, text
and metadata are unchanged: its float32 vector (read back from the FAISS index, exact), its
term-weight row, and its sentences (spans, token counts, vectors) from the clusters, so nothing
is encoded twice. A version built with another embedder, tokenizer, chunking, dense kind or
term weights lends nothing: the build starts from scratch.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import IndexCorrupted, IndexMismatch
from ragengine.index.manifest import MANIFEST
from ragengine.index.store import TERM_ENCODER, LoadedIndex
from ragengine.indexing.documents import read_documents
from ragengine.rerank.sparse import TermMatrix
from ragengine.types import Chunk

ChunkKey = tuple[str, str, str]


def chunk_key(c: Chunk) -> ChunkKey:
    """Equal keys mean equal encoder input and equal stored record."""
    meta = {k: v for k, v in c.metadata.items() if isinstance(v, str | int | float | bool)}
    return c.chunk_id, c.text, json.dumps(meta, sort_keys=True, ensure_ascii=False)


@dataclass
class SentenceRows:
    """One chunk's sentences: spans, exact token counts and vectors (float16)."""

    spans: np.ndarray
    tokens: np.ndarray
    vectors: np.ndarray


@dataclass
class Previous:
    folder: Path
    chunks: list[Chunk]
    vectors: np.ndarray  # float32, exact (from the dense index)
    terms: TermMatrix | None
    sentences: list[SentenceRows] | None  # per chunk row, when the clusters' vectors are contextual
    cluster_params: dict[str, Any] | None
    documents: dict[str, dict[str, Any]]

    def __post_init__(self) -> None:
        self.row_of = {chunk_key(c): r for r, c in enumerate(self.chunks)}
        self.rows_by_doc: dict[str, list[int]] = {}
        for r, c in enumerate(self.chunks):
            self.rows_by_doc.setdefault(c.doc_id, []).append(r)

    def row(self, c: Chunk) -> int | None:
        return self.row_of.get(chunk_key(c))


def load_previous(folder: Path, settings: dict[str, Any], *, embedder: str, with_terms: bool) -> Previous | None:
    """The reusable state of ``folder`` if it exists and was built with ``settings``; else None.

    ``settings``: the manifest fields that must match (embedder, tokenizer, chunking, dense_kind).
    A corrupted previous version lends nothing (the rebuild replaces it) rather than failing.
    """
    if not (folder / MANIFEST).is_file():
        return None
    try:
        idx = LoadedIndex.load(folder, embedder=embedder)
    except (IndexCorrupted, IndexMismatch, OSError):
        return None
    have = {k: getattr(idx.manifest, k) for k in settings}
    if have != settings:
        return None
    terms = None
    if with_terms and embedder == TERM_ENCODER:
        from ragengine.rerank.index_terms import load_terms

        terms = load_terms(folder)
        if terms is None or terms.n_rows != len(idx.chunks):
            return None  # made with other weights: re-encode everything
    wanted = "contextual" if embedder == TERM_ENCODER else "standalone"
    sentences, params = _sentences(folder, idx.chunks, wanted)
    return Previous(
        folder,
        idx.chunks,
        idx.dense.all_vectors(),
        terms,
        sentences,
        params,
        read_documents(folder),
    )


def _sentences(
    folder: Path, chunks: Sequence[Chunk], wanted: str
) -> tuple[list[SentenceRows] | None, dict[str, Any] | None]:
    from ragengine.cluster import has_clusters, load_clusters

    if not has_clusters(folder):
        return None, None
    try:
        cs = load_clusters(folder, list(chunks))
    except (IndexCorrupted, IndexMismatch):
        return None, None
    if cs.params.get("sentence_vectors", "standalone") != wanted:
        return None, cs.params  # sentences embedded the other way: do not mix the two kinds
    t = cs.sentences
    bounds = np.searchsorted(t.chunk, np.arange(len(chunks) + 1))
    rows = [SentenceRows(t.span[a:b], t.tokens[a:b], t.vectors[a:b]) for a, b in itertools.pairwise(bounds)]
    return rows, cs.params
