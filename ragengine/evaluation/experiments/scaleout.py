"""Scale-out benchmark, vector side: pgvector HNSW on a real PostgreSQL server against FAISS, same vectors.

Run: ``ragengine bench scaleout [--vectors N] [--queries 200] [--out eval/results/scaleout]`` ->
``<out>.json`` and ``<out>.md``. Vectors: the real MiniLM chunk vectors of the indexes under
``indexes/`` (the ``bench perf`` 50k-chunk index and the benchmark indexes), deduplicated, up to
``--vectors``. Queries: SQuAD v1.1 dev questions (articles 25-48) embedded with the same encoder.
Ground truth is FAISS flat (exact inner product). Measured: recall@10 and p50/p95 latency of FAISS
HNSW and of pgvector HNSW at several ``hnsw.ef_search`` (and pgvector exact), the HNSW build
time, and query throughput with 1, 4 and 16 concurrent clients on one server. The server is a
throwaway local one (``ragengine.index.pg_server``) with ``fsync=off``, on the same 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.evaluation.report.tables import table

EF = (40, 100, 200)
CLIENTS = (1, 4, 16)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragengine bench scaleout", description=__doc__.splitlines()[0])
    p.add_argument("--vectors", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--indexes", type=Path, default=Path("indexes"))
    p.add_argument("--out", type=Path, default=Path("eval/results/scaleout"))
    p.add_argument("--smoke", action="store_true", help="2,000 random unit vectors and 20 queries (a quick check)")
    p.add_argument(
        "--part",
        choices=("all", "vectors", "store", "ray"),
        default="all",
        help="run one part and keep the other's figures from the existing report's JSON",
    )
    p.add_argument("--store-questions", type=int, default=1000, help="SQuAD questions for the store part")
    return p


def real_vectors(folder: Path, limit: int) -> tuple[np.ndarray, list[str]]:
    """Deduplicated float32 chunk vectors of every index under ``folder`` (manifests with the int8 MiniLM)."""
    from ragengine.index.store import TERM_ENCODER, LoadedIndex

    parts, names, seen = [], [], 0
    for m in sorted(folder.rglob("manifest.json")):
        if any(p.startswith(".") for p in m.relative_to(folder).parts):
            continue
        try:
            idx = LoadedIndex.load(m.parent, embedder=TERM_ENCODER, verify=False)
        except Exception:
            continue
        parts.append(idx.dense.all_vectors())
        names.append(f"{m.parent.relative_to(folder)} ({idx.dense.index.ntotal} real MiniLM chunk vectors)")
        seen += idx.dense.index.ntotal
    x = np.unique(np.concatenate(parts), axis=0)
    rng = np.random.default_rng(0)
    if len(x) > limit:
        x = x[rng.choice(len(x), limit, replace=False)]
    elif len(x) < limit:  # too few real vectors: fill up with draws from a Gaussian fitted to them
        fill = rng.multivariate_normal(x.mean(axis=0), np.cov(x, rowvar=False), limit - len(x), method="cholesky")
        fill /= np.linalg.norm(fill, axis=1, keepdims=True)
        names.append(
            f"{len(fill):,} synthetic: a Gaussian fitted to the real vectors' mean and covariance, unit-normed"
        )
        x = np.concatenate([x, fill.astype(np.float32)])
    return np.ascontiguousarray(x, dtype=np.float32), names


def _pct(ms: list[float]) -> dict[str, float]:
    return {"p50": round(float(np.percentile(ms, 50)), 2), "p95": round(float(np.percentile(ms, 95)), 2)}


def _recall(got: np.ndarray, gold: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / gold.shape[1] for a, b in zip(got, gold, strict=True)]))


def _timed(search: Any, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    rows, ms = [], []
    for q in queries:
        t = time.perf_counter()
        _, r = search(q[None, :])
        ms.append((time.perf_counter() - t) * 1000)
        rows.append(r[0])
    return np.asarray(rows), ms


def run(a: argparse.Namespace) -> dict[str, Any]:
    import faiss

    from ragengine.embed.onnx_minilm import OnnxMiniLM
    from ragengine.evaluation.datasets import load_squad
    from ragengine.evaluation.experiments.selection_sets import DATA
    from ragengine.index.pg_server import start_server
    from ragengine.index.pg_vectors import PgVectors, connect

    if a.smoke:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2000, 384)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        sources = ["random unit vectors (smoke)"]
        query_source = "perturbed corpus vectors"
        queries = x[:20] + 0.05 * rng.standard_normal((20, 384)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    else:
        x, sources = real_vectors(a.indexes, a.vectors)
        query_source = "SQuAD dev questions, embedded"
        qs = [q.question for q in load_squad(DATA / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json", (25, 48))]
        queries = OnnxMiniLM().embed(qs[:: max(1, len(qs) // a.queries)][: a.queries])
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    gold, flat_ms = _timed(lambda q: flat.search(q, 10), queries)
    res: dict[str, Any] = {"vectors": len(x), "dim": int(x.shape[1]), "sources": sources, "queries": len(queries)}
    res["query_source"] = query_source
    rows = [{"engine": "FAISS flat (exact)", "recall@10": 1.0, **_pct(flat_ms)}]
    hnsw = faiss.IndexHNSWFlat(x.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    t = time.perf_counter()
    hnsw.add(x)
    faiss_build = time.perf_counter() - t
    for ef in EF:
        hnsw.hnsw.efSearch = ef
        got, ms = _timed(lambda q: hnsw.search(q, 10), queries)
        rows.append({"engine": f"FAISS HNSW M=32 efSearch={ef}", "recall@10": round(_recall(got, gold), 4), **_pct(ms)})
    server = start_server()
    try:
        pv = PgVectors(server.url, "bench_vectors")
        pg_build = pv.load(x, m=16, ef_construction=200)
        for ef in EF:
            pv.ef_search = ef
            got, ms = _timed(lambda q: pv.search(q, 10), queries)
            rows.append(
                {"engine": f"pgvector HNSW m=16 ef_search={ef}", "recall@10": round(_recall(got, gold), 4), **_pct(ms)}
            )
        got, ms = _timed(lambda q: pv.search(q, 10, exact=True), queries[:20])
        rows.append(
            {
                "engine": "pgvector exact (seq scan, 20 queries)",
                "recall@10": round(_recall(got, gold[:20]), 4),
                **_pct(ms),
            }
        )
        pv.ef_search = 100
        conc = []
        for n in CLIENTS:
            conns = [connect(server.url, autocommit=True) for _ in range(n)]
            work = [queries[i::n] for i in range(n)]
            t = time.perf_counter()
            with ThreadPoolExecutor(n) as pool:
                list(pool.map(lambda cq: pv.search(cq[1], 10, conn=cq[0]), zip(conns, work, strict=True)))
            secs = time.perf_counter() - t
            for c in conns:
                c.close()
            conc.append({"clients": n, "queries": len(queries), "qps": round(len(queries) / secs, 1)})
        pv.close()
    finally:
        server.stop()
    res.update(
        rows=rows, concurrency=conc, faiss_hnsw_build_s=round(faiss_build, 1), pg_hnsw_build_s=round(pg_build, 1)
    )
    return res


def render(doc: dict[str, Any]) -> str:
    r = doc["result"]
    run_of = r.get("vectors_run", {"command": doc["command"], "created": doc["created"]})
    out = [
        "# Scale-out: pgvector against FAISS, the engine over PostgreSQL, and indexing on Ray",
        "",
        f"Each part names the run that measured it; {doc['cpus']} CPUs. Vectors: `{run_of['command']}`, "
        f"{run_of['created']}: {r['vectors']:,} distinct vectors "
        f"({r['dim']}-d) from {', '.join(r['sources'])}; {r['queries']} queries "
        f"({r.get('query_source', 'SQuAD dev questions, embedded')}); "
        "ground truth FAISS flat. The PostgreSQL server is a local throwaway one (fsync off) on the same cores.",
        "",
    ]
    out += table(
        ["engine", "recall@10", "p50 ms", "p95 ms"],
        [[x["engine"], x["recall@10"], x["p50"], x["p95"]] for x in r["rows"]],
    )
    out += [
        "",
        f"HNSW build: FAISS (M=32, efConstruction=80) {r['faiss_hnsw_build_s']} s; "
        f"pgvector (m=16, ef_construction=200) {r['pg_hnsw_build_s']} s.",
        "",
        "## Concurrent clients on one server (ef_search 100)",
        "",
    ]
    out += table(
        ["clients", "queries", "queries/s"], [[c["clients"], c["queries"], c["qps"]] for c in r["concurrency"]]
    )
    if r.get("store"):
        from ragengine.evaluation.experiments.scaleout_store import render_store

        out += ["", *render_store(r["store"], r.get("store_run"))]
    if r.get("ray"):
        from ragengine.evaluation.experiments.scaleout_ray import render_ray

        out += ["", *render_ray(r["ray"], r.get("ray_run"))]
    out.append("")
    return "\n".join(out)


def run_store_part(a: argparse.Namespace) -> dict[str, Any]:
    from ragengine.evaluation.experiments.scaleout_store import run_store
    from ragengine.index.pg_server import start_server

    server = start_server()
    try:
        indexes = a.out.parent / "indexes" if a.smoke else a.indexes
        return run_store(server.url, indexes, a.store_questions, a.smoke)
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    old = a.out.with_suffix(".json")
    result = json.loads(old.read_text(encoding="utf-8"))["result"] if a.part != "all" and old.is_file() else {}
    stamp = {
        "command": "ragengine bench scaleout " + " ".join(argv or []),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if a.part in ("all", "vectors"):
        result.update(run(a), vectors_run=stamp)
    if a.part in ("all", "store"):
        result.update(store=run_store_part(a), store_run=stamp)
    if a.part in ("all", "ray"):
        from ragengine.evaluation.experiments.scaleout_ray import run_ray

        result.update(ray=run_ray(a.smoke), ray_run=stamp)
    doc = {
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "ragengine bench scaleout " + " ".join(argv or []),
        "cpus": os.cpu_count(),
        "result": result,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    a.out.with_suffix(".md").write_text(render(doc), encoding="utf-8")
    print(a.out.with_suffix(".md"))
    return 0
