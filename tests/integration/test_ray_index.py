"""Indexing on a real local Ray (Ray Data actors encode the chunks): the same index as a single-process build."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ragengine import Engine
from ragengine.index.store import LoadedIndex
from ragengine.rerank.sparse import TERMS_FILE, TermMatrix
from tests.conftest import XQUAD

pytestmark = [
    pytest.mark.ray,
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (ragengine[ray])"),
]


@pytest.fixture(scope="module")
def ray_local() -> object:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=300 * 2**20, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_a_ray_build_equals_the_single_process_build(ray_local: object, demo_index: Path, tmp_path: Path) -> None:
    m = Engine.build_index([XQUAD], "demo", root=tmp_path, ray=True)
    one, dist = LoadedIndex.load(demo_index), LoadedIndex.load(tmp_path / "demo")
    assert m.n_chunks == len(one.chunks)
    assert [c.chunk_id for c in dist.chunks] == [c.chunk_id for c in one.chunks]
    a, b = one.dense.all_vectors(), dist.dense.all_vectors()
    assert np.abs(a - b).max() < 5e-3 and float(np.min(np.sum(a * b, axis=1))) > 0.9999
    ta, tb = TermMatrix.load(demo_index / TERMS_FILE), TermMatrix.load(tmp_path / "demo" / TERMS_FILE)
    assert ta.n_rows == tb.n_rows and abs(ta.nnz - tb.nnz) <= 0.01 * ta.nnz
    q = "When was Sky Digital launched?"
    assert dist.lexical_search(q, 10)[0].tolist() == one.lexical_search(q, 10)[0].tolist()


def test_another_embedder_on_ray_is_refused(ray_local: object, tmp_path: Path) -> None:
    from ragengine.errors import InvalidInput
    from tests.conftest import tiny_docs

    with pytest.raises(InvalidInput, match="default embedder"):
        Engine.build_index(tiny_docs(), "t", root=tmp_path, embedder="hash-64", tokenizer="whitespace", ray=True)
