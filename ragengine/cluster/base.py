"""The cluster stage: add coarser or finer units (cluster excerpts, best members, summaries) to the
retrieved candidates, so the selector can trade detail for tokens.

``Augmenter.augment(question, retrieved)`` returns the candidates with the derived units merged in;
``chunk_vectors(candidates)`` embeds any of them, derived units included.
``cluster.augment.ClusterAugmenter`` is the shipped implementation (CRAG).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ragengine.types import Candidate, Retrieved


class Augmenter(Protocol):
    def augment(self, question: str, retrieved: Retrieved) -> Retrieved: ...

    def chunk_vectors(self, candidates: Sequence[Candidate]) -> np.ndarray: ...
