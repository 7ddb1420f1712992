"""The retrieve stage: a query in, ranked candidates out.

``Retriever.retrieve(query, k)`` returns a ``Retrieved`` (candidates best first, the query vector
when dense retrieval ran); ``chunk_vectors(candidates)`` gives the stored embeddings selectors
and clusters compare with; ``mode`` names what it searches (``hybrid``, ``bm25``, ``dense``).
``retrieve.hybrid.HybridRetriever`` is the shipped implementation.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ragengine.types import Candidate, Retrieved


class Retriever(Protocol):
    mode: str

    def retrieve(self, query: str, k: int = 30) -> Retrieved: ...

    def chunk_vectors(self, candidates: list[Candidate]) -> np.ndarray: ...
