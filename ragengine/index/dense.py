"""Dense vector search with FAISS (inner product on L2-normalised vectors = cosine).

Kinds: ``flat`` (exact, default), ``ivf`` (IVF-Flat, nlist = 4*sqrt(n) capped so each list
trains on >= 39 points, nprobe 16), ``hnsw`` (M=32, efSearch=128). Saved with FAISS's own
format, always in CPU form.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import InvalidInput, MissingDependency

DENSE_KINDS = ("flat", "ivf", "hnsw")
DENSE_FILE = "dense.faiss"


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as e:
        raise MissingDependency("dense search (faiss)", "cpu") from e
    return faiss


class DenseIndex:
    def __init__(self, index: Any, kind: str) -> None:
        self.index = index
        self.kind = kind

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "flat", seed: int = 0) -> DenseIndex:
        if kind not in DENSE_KINDS:
            raise InvalidInput(f"unknown dense index kind {kind!r}; choose one of {', '.join(DENSE_KINDS)}")
        faiss = _faiss()
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        n, d = x.shape
        if kind == "ivf" and n >= 2 * 39:
            nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
            quant = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quant, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = seed
            index.train(x)
            index.nprobe = min(16, nlist)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 128
        else:
            index = faiss.IndexFlatIP(d)
        index.add(x)
        return cls(index, kind)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.index.ntotal)
        if k <= 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids

    def save(self, folder: Path) -> None:
        _faiss().write_index(self.index, str(folder / DENSE_FILE))

    @classmethod
    def load(cls, folder: Path, kind: str) -> DenseIndex:
        return cls(_faiss().read_index(str(folder / DENSE_FILE)), kind)
