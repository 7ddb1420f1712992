"""The re-rank stage: reorder retrieved candidates and keep the best ``k``.

``Reranker.rerank(query, candidates, rows=None, query_vector=None, k=None)`` returns the candidates
best first; ``rows`` (their index rows) and ``query_vector`` let a re-ranker skip work it can
look up. ``NoReranker`` keeps the retriever's order and costs nothing.

>>> from ragengine.testing import make_candidates
>>> [c.chunk.chunk_id for c in NoReranker().rerank("q", make_candidates(["a", "b", "c"]), k=2)]
['c0', 'c1']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ragengine.types import Candidate


class Reranker(Protocol):
    def rerank(
        self,
        query: str,
        candidates: Sequence[Candidate],
        rows: Sequence[int] | np.ndarray | None = None,
        query_vector: np.ndarray | None = None,
        *,
        k: int | None = None,
    ) -> list[Candidate]: ...


class NoReranker:
    """``--reranker none``: the retriever's order, cut to ``k``."""

    def rerank(
        self,
        query: str,
        candidates: Sequence[Candidate],
        rows: Sequence[int] | np.ndarray | None = None,
        query_vector: np.ndarray | None = None,
        *,
        k: int | None = None,
    ) -> list[Candidate]:
        return list(candidates)[:k]
