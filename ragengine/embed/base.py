"""The embedder interface and the registry of shipped embedders.

Embedders return L2-normalised float32 vectors, so inner product is cosine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ragengine.errors import InvalidInput


class Embedder(Protocol):
    """``id`` goes in the index manifest; an index built with another id refuses to load."""

    id: str
    dim: int

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray: ...


EMBEDDERS = ("minilm-onnx-int8", "minilm-st-fp32", "hash")


def get_embedder(name: str) -> Embedder:
    """``minilm-onnx-int8`` (default, no torch), ``minilm-st-fp32`` (sentence-transformers), ``hash`` (tests)."""
    if name in ("minilm-onnx-int8", "all-MiniLM-L6-v2-onnx-int8"):
        from ragengine.embed.onnx_minilm import OnnxMiniLM

        return OnnxMiniLM()
    if name in ("minilm-st-fp32", "all-MiniLM-L6-v2"):
        from ragengine.embed.st_minilm import SentenceTransformerMiniLM

        return SentenceTransformerMiniLM()
    if name.startswith("hash"):
        from ragengine.testing import HashEmbedder

        dim = int(name.split("-")[1]) if "-" in name else 64
        return HashEmbedder(dim)
    raise InvalidInput(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")


def l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)
