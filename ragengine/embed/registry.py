"""Embedders by name, as recorded in index manifests: ``get_embedder("minilm-onnx-int8")``.

Backends import lazily, so naming one loads nothing until it is chosen.
"""

from __future__ import annotations

from ragengine.embed.base import Embedder
from ragengine.errors import InvalidInput

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
