"""The PostgreSQL store behind the engine, on a real server: the same contexts as the local store,
the manifest checked on open, atomic versions under a concurrent reader, add/remove in place,
an interrupted build that leaves the old version serving, and typed errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from ragengine import Answer, Budget, Document, Engine
from ragengine.errors import IndexMismatch, IndexNotFound, InvalidInput
from ragengine.index.pg_server import LocalServer
from ragengine.index.pg_vectors import StoreUnavailable, connect
from ragengine.index.pg_versions import prefix
from ragengine.index.store import LoadedIndex
from tests.conftest import XQUAD, tiny_docs

pytestmark = pytest.mark.postgres
TINY = {"embedder": "hash-64", "tokenizer": "whitespace", "chunk_size": 16, "chunk_overlap": 0}


def _questions(n: int) -> list[str]:
    data = json.loads(XQUAD.read_text(encoding="utf-8"))["data"]
    qs = [qa["question"] for art in data for para in art["paragraphs"] for qa in para["qas"]]
    return qs[:: max(1, len(qs) // n)][:n]


@pytest.fixture(scope="module")
def pushed(server: LocalServer, demo_index: Path) -> str:
    Engine.push_index(demo_index, server.url, name="demo")
    return server.url


def _context(ans: Answer) -> list[tuple[str, str]]:
    return [(c.chunk_id, c.text) for c in ans.citations]


def test_searches_in_the_server_equal_the_local_store(pushed: str, demo_index: Path) -> None:
    local = LoadedIndex.load(demo_index)
    eng = Engine.from_index("demo", store=pushed, store_options={"exact": True}, generator="none")
    pg = eng.index
    assert [c.chunk_id for c in pg.chunks] == [c.chunk_id for c in local.chunks]
    assert np.array_equal(np.asarray(pg.vectors), np.asarray(local.vectors))
    qv = eng.embedder.embed(_questions(40))
    s_local, r_local = local.dense_search(qv, 10)
    s_pg, r_pg = pg.dense_search(qv, 10)
    assert (r_pg == r_local).mean() >= 0.99 and np.allclose(s_pg, s_local, atol=1e-5)
    for q in _questions(40):  # BM25 summed in SQL ranks as bm25s does, with the same scores (ties in any order)
        rows_l, sc_l = local.lexical_search(q, 20)
        rows_p, sc_p = pg.lexical_search(q, 20)
        assert np.allclose(sc_p, sc_l, rtol=1e-5)
        assert {(r, round(float(x), 3)) for r, x in zip(rows_p, sc_p, strict=True) if x > sc_l[-1] + 1e-4} == {
            (r, round(float(x), 3)) for r, x in zip(rows_l, sc_l, strict=True) if x > sc_l[-1] + 1e-4
        }
    hnsw = Engine.from_index("demo", store=pushed, store_options={"ef_search": 40}, generator="none").index
    _, r_h = hnsw.dense_search(qv, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(r_h, r_local, strict=True)])
    assert recall >= 0.98
    ts = Engine.from_index("demo", store=pushed, store_options={"lexical": "tsvector"}, generator="none").index
    rows_t, sc_t = ts.lexical_search("When was Sky Digital launched?", 10)
    assert len(rows_t) > 0 and np.all(np.diff(sc_t) <= 0)
    assert any("Sky" in ts.chunks[r].text for r in rows_t[:3])


@pytest.mark.parametrize("strategy", ["evidence", "greedy", "mcts", "knapsack", "mmr", "dos"])
def test_every_strategy_selects_the_same_context_through_the_store(
    pushed: str, demo_index: Path, strategy: str
) -> None:
    n = 100 if strategy in ("evidence", "greedy") else 20
    local = Engine.from_index(demo_index, generator="none")
    pg = Engine.from_index("demo", store=pushed, generator="none")
    same = 0
    for q in _questions(n):
        a, b = local.ask(q, Budget(context_tokens=256), strategy=strategy), pg.ask(q, 256, strategy=strategy)
        assert b.cost.context_tokens <= 256
        same += _context(a) == _context(b)
    assert same / n >= 0.95


def test_opening_with_another_embedder_is_a_mismatch(pushed: str) -> None:
    with pytest.raises(IndexMismatch, match="built with embedder .*MiniLM.* but .hash-64"):
        Engine.from_index("demo", store=pushed, embedder="hash-64", generator="none")


def test_unknown_names_bad_urls_and_unreachable_servers_are_typed(pushed: str) -> None:
    with pytest.raises(IndexNotFound, match="indexes there: .*demo"):
        Engine.from_index("nope", store=pushed, generator="none")
    with pytest.raises(StoreUnavailable) as e:
        Engine.from_index("demo", store="postgresql://bob:s3cret@127.0.0.1:1/x", generator="none")
    assert "s3cret" not in str(e.value) and "\n" not in str(e.value)


def _docs(tag: str, n: int) -> list[Document]:
    return [Document(f"{tag}-{i}", f"document {tag} number {i} talks about topic {i % 3} " * 3) for i in range(n)]


def test_rebuilds_and_adds_switch_atomically_under_a_concurrent_reader(server: LocalServer) -> None:
    first = Engine.build_index(_docs("v0", 6), "live", store=server.url, **TINY)
    reader = Engine.from_index(
        "live", store=server.url, store_options={"poll_s": 0}, embedder="hash-64", generator="none"
    )
    seen: list[tuple[str, int, int, frozenset[str]]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                got = reader.retrieve("which document talks about topic 1")
                idx = reader.index
                ids = frozenset(c.chunk.doc_id for c in got.candidates)
                seen.append((reader.manifest.version, len(idx.chunks), reader.manifest.n_chunks, ids))
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=read)
    t.start()
    docs_of = {first.version: {d.doc_id for d in _docs("v0", 6)}}
    try:
        for i in range(1, 4):
            m = Engine.build_index(_docs(f"v{i}", 6 + 3 * i), "live", store=server.url, **TINY)
            docs_of[m.version] = {d.doc_id for d in _docs(f"v{i}", 6 + 3 * i)}
        writer = Engine.from_index("live", store=server.url, embedder="hash-64", generator="none")
        for j in range(2):  # incremental adds while the reader reads
            writer.add_documents(_docs(f"add{j}", 2))
            docs_of[writer.manifest.version] = set(writer.documents())
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors
    assert len({v for v, *_ in seen}) >= 3  # the reader followed the rebuilds and the adds
    for version, loaded, listed, ids in seen:
        assert loaded == listed  # never a half-loaded version
        assert ids <= docs_of[version]  # every candidate list comes from the one version the reader had
    with connect(server.url) as conn:
        schemas = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix("live"),)
        ).fetchone()[0]
    assert schemas == 2  # the current and the previous version; older ones are dropped


def test_add_and_remove_documents_in_place(server: LocalServer) -> None:
    Engine.build_index(tiny_docs(), "inc", store=server.url, **TINY)
    eng = Engine.from_index("inc", store=server.url, embedder="hash-64", generator="none")
    other = Engine.from_index(
        "inc", store=server.url, store_options={"poll_s": 0}, embedder="hash-64", generator="none"
    )
    before = eng.manifest.version
    n_docs = len(eng.documents())
    report = eng.add_documents([Document("new-doc", "Zanzibar exports cloves and coconut oil.")])
    assert report.chunks_embedded == 1 and report.chunks_reused > 0 and report.documents_new == 1
    assert eng.manifest.version != before and "new-doc" in eng.documents()
    hits = other.retrieve("Zanzibar cloves").candidates
    assert hits[0].chunk.doc_id == "new-doc"
    first = next(iter(eng.documents()))
    removed = eng.remove_documents([first])
    assert removed.documents_removed == 1 and removed.chunks_embedded == 0
    assert first not in eng.documents() and len(eng.documents()) == n_docs
    assert all(c.chunk.doc_id != first for c in other.retrieve(first.replace("-", " ")).candidates)


def test_an_interrupted_build_leaves_the_old_version_serving(server: LocalServer, tmp_path: Path) -> None:
    Engine.build_index(tiny_docs(), "crash", store=server.url, **TINY)
    old = Engine.from_index("crash", store=server.url, embedder="hash-64", generator="none").manifest.version
    script = (
        "from ragengine import Engine, Document\n"
        f"Engine.build_index([Document('x', 'a new text about zebras')], 'crash', store={server.url!r}, "
        "embedder='hash-64', tokenizer='whitespace', chunk_size=16, chunk_overlap=0)\n"
    )
    env = {**os.environ, "RAGENGINE_FAILPOINT": "pg:before-switch"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=300)
    assert out.returncode == -9
    eng = Engine.from_index("crash", store=server.url, embedder="hash-64", generator="none")
    assert eng.manifest.version == old and "x" not in eng.documents()
    Engine.build_index(_docs("after", 3), "crash", store=server.url, **TINY)  # the next writer drops the orphan
    with connect(server.url) as conn:
        n = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix("crash"),)
        ).fetchone()[0]
    assert n == 2


def test_cli_push_ask_and_info_through_the_store(pushed: str, demo_index: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ragengine", *args], capture_output=True, text=True, timeout=300)

    out = cli("push", str(demo_index), "--as", "demo-cli", "--store", pushed)
    assert out.returncode == 0 and "pushed demo-cli" in out.stdout, out.stderr
    out = cli(
        "ask", "demo-cli", "When was Sky Digital launched?", "--store", pushed, "--generator", "extractive", "--json"
    )
    assert out.returncode == 0, out.stderr
    assert "1998" in json.loads(out.stdout)["answer"]
    out = cli("search", "demo-cli", "When was Sky Digital launched?", "-k", "5", "--store", pushed, "--json")
    assert out.returncode == 0, out.stderr
    assert "Sky" in out.stdout
    out = cli("info", "demo-cli", "--store", pushed)
    info = json.loads(out.stdout)
    assert info["name"] == "demo-cli" and info["store"].endswith("#demo-cli") and "path" not in info
    out = cli("ask", "demo-cli", "x", "--store", "postgresql://u:pw@127.0.0.1:1/db", "--generator", "none")
    assert out.returncode == 2 and "pw" not in out.stderr and out.stderr.startswith("error: cannot connect")


def test_connection_settings_come_from_pg_variables_and_options_from_the_url(
    pushed: str, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(server.port),
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
    }.items():
        monkeypatch.setenv(k, v)
    assert Engine.from_index("demo", store="postgresql://", generator="none").manifest.name == "demo"
    url = pushed + "?ef_search=300&lexical=tsvector&application_name=ragengine-test"
    idx = Engine.from_index("demo", store=url, generator="none").index
    assert (idx.ef_search, idx.lexical) == (300, "tsvector")  # type: ignore[attr-defined]
    fused = Engine.from_index("demo", store=pushed + "?fusion=sql&exact=1", generator="none").index
    assert (fused.fusion, fused.exact) == ("sql", True)  # type: ignore[attr-defined]
    with connect(pushed) as conn:
        names = {r[0] for r in conn.execute("SELECT application_name FROM pg_stat_activity").fetchall()}
    assert "ragengine-test" in names  # libpq's own parameters pass through
    with pytest.raises(InvalidInput, match="ef_search='many'"):
        Engine.from_index("demo", store=pushed + "?ef_search=many", generator="none")


def test_one_sql_query_fuses_as_the_retriever_does(pushed: str) -> None:
    client = Engine.from_index("demo", store=pushed, store_options={"exact": True}, generator="none")
    sql = Engine.from_index("demo", store=pushed, store_options={"exact": True, "fusion": "sql"}, generator="none")
    for q in _questions(30):
        a, b = client.retrieve(q), sql.retrieve(q)
        assert b.stats.get("fused_in_store") == 1
        assert np.allclose([c.score for c in a.candidates], [c.score for c in b.candidates])
        assert [c.chunk.chunk_id for c in a.candidates][:10] == [c.chunk.chunk_id for c in b.candidates][:10]
