"""The index behind the query pipeline, as one Protocol: any store that answers these serves every stage.

Two implementations ship: ``LoadedIndex`` (a local folder: FAISS + bm25s files, the zero-setup
default) and ``PgIndex`` (PostgreSQL + pgvector: HNSW or exact dense search and BM25 or
``ts_rank_cd`` lexical search run in the server). The retriever, re-ranker, cluster augmenter,
rewriters and selectors see only this surface, so the budget, ledger and selection are the same
over either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ragengine.index.manifest import Manifest
from ragengine.types import Chunk


@runtime_checkable
class ChunkStore(Protocol):
    """Row ``i`` is ``chunks[i]``, ``vectors[i]`` and the id both searches return for it.

    ``folder`` holds the manifest and the auxiliary files (term weights, clusters) the stages that
    use them load; ``stemmer`` is the lexical side's stemmer (or None), for query expansion.
    """

    @property
    def folder(self) -> Path: ...

    @property
    def manifest(self) -> Manifest: ...

    @property
    def chunks(self) -> list[Chunk]: ...

    @property
    def vectors(self) -> np.ndarray: ...

    @property
    def stemmer(self) -> Any: ...

    def dense_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows), each (n_queries, k), cosine best first; rows of -1 pad a short list."""
        ...

    def lexical_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of the best ``k`` lexical matches, best first; no zero-score rows."""
        ...
