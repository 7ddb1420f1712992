"""pgvector on a real throwaway PostgreSQL server: exact search equals FAISS flat on real MiniLM vectors,
HNSW keeps recall@10 >= 0.98 of exact, and a bad URL or unreachable server is a one-line typed error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragengine.errors import InvalidInput
from ragengine.index.pg_server import LocalServer
from ragengine.index.pg_vectors import PgVectors, StoreUnavailable, connect, masked
from ragengine.index.store import LoadedIndex

pytestmark = pytest.mark.postgres


def test_the_server_is_real_and_has_pgvector(server: LocalServer) -> None:
    with connect(server.url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        ext = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    assert int(version.split(".")[0]) >= 15 and ext is not None
    assert Path(f"/proc/{server.pid}").exists()


def test_exact_and_hnsw_search_on_real_vectors(server: LocalServer, demo_index: Path) -> None:
    idx = LoadedIndex.load(demo_index)
    x = idx.dense.all_vectors()
    rng = np.random.default_rng(0)
    queries = x[rng.choice(len(x), 40, replace=False)] + rng.normal(0, 0.02, (40, x.shape[1])).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    _, want = idx.dense.search(queries, 10)
    pv = PgVectors(server.url, "demo_vectors", ef_search=64)
    try:
        pv.load(x)
        _, exact = pv.search(queries, 10, exact=True)
        _, approx = pv.search(queries, 10)
    finally:
        pv.close()
    assert (exact == want).mean() >= 0.99  # ties aside, the same rows in the same order
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(approx, exact, strict=True)])
    assert recall >= 0.98


def test_bad_urls_and_unreachable_servers_are_typed_one_line_errors() -> None:
    with pytest.raises(InvalidInput, match="postgresql://USER@HOST"):
        connect("mysql://root@127.0.0.1/db")
    with pytest.raises(StoreUnavailable) as e:
        connect("postgresql://bob:s3cret@127.0.0.1:1/nowhere")
    assert "s3cret" not in str(e.value) and "***" in str(e.value) and "\n" not in str(e.value)
    assert masked("postgresql://u:p@h:5/d") == "postgresql://u:***@h:5/d"
