"""Device selection of the dense index on a machine without a GPU (runs everywhere; no `gpu` marker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragengine.errors import InvalidInput
from ragengine.index.dense import DenseIndex, _all_vectors, resolve_device


def _gpu_present() -> bool:
    return resolve_device("auto") != "cpu"


def test_unknown_device_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_auto_falls_back_to_cpu_and_cuda_explains_without_gpu(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    if _gpu_present():
        pytest.skip("a GPU is usable here; tests/gpu/test_gpu_search.py covers it")
    x = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)
    idx = DenseIndex.build(x, "flat", device="auto")
    assert idx.backend == "cpu"
    with pytest.raises(InvalidInput, match="no GPU is usable"):
        idx.to("cuda")
    idx.save(tmp_path)
    assert DenseIndex.load(tmp_path, "flat", device="auto").backend == "cpu"


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_vectors_can_be_read_back_for_gpu_search(kind: str) -> None:
    """The GPU paths rebuild exact search from the CPU index's own vectors, for every kind."""
    pytest.importorskip("faiss")
    x = np.random.default_rng(1).standard_normal((400, 16)).astype(np.float32)
    idx = DenseIndex.build(x, kind)
    np.testing.assert_array_equal(_all_vectors(idx.index), x)
