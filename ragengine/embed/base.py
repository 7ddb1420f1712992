"""The embedder interface (its registry is ``embed.registry``).

Embedders return L2-normalised float32 vectors, so inner product is cosine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """``id`` goes in the index manifest; an index built with another id refuses to load."""

    id: str
    dim: int

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray: ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)
