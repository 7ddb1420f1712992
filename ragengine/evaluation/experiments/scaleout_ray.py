"""Scale-out benchmark, indexing side: a build on a local Ray against the single-process build, same corpus.

Both builds run in this process on the same documents (``rebuild``: everything encoded): first
single-process, then with ``ray=True`` (Ray Data actors, one per core, after ``ray.init``, which is
timed apart). Ray's actors report the seconds they spent encoding, which gives the per-worker
rate; with the driver's own time (chunking, BM25, FAISS, the write) it projects the build time on
N workers: ``driver_s + chunks / (N x per-worker rate)``. On 2 cores no gain is expected: the
single process already keeps both busy.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from ragengine.engine import Engine
from ragengine.evaluation.experiments.selection_sets import BUNDLED, DATA, SMOKE, SPECS, corpus_documents
from ragengine.evaluation.report.tables import table

WORKERS = (2, 8, 32, 128)


def _timed(fn: Any) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def run_ray(smoke: bool) -> dict[str, Any]:
    from ragengine.indexing import distributed

    spec, data = (SMOKE, BUNDLED) if smoke else (SPECS["squad-dev"], DATA)
    docs = corpus_documents(spec, data)[: 30 if smoke else None]
    ray = distributed._ray()
    with tempfile.TemporaryDirectory(prefix="ragengine-ray-bench-") as tmp:
        m, single_s, single_cpu = _timed(lambda: Engine.build_index(docs, "single", root=tmp, rebuild=True))
        _, init_s, _ = _timed(lambda: distributed.start(distributed.LOCAL))
        try:
            _, ray_s, ray_cpu = _timed(lambda: Engine.build_index(docs, "ray", root=tmp, rebuild=True, ray=True))
            stats = dict(distributed.LAST)
        finally:
            ray.shutdown()
    chunks = m.n_chunks
    per_worker = stats["texts"] / stats["actor_busy_s"]
    driver_s = max(0.0, ray_s - stats["wall_s"])
    return {
        "corpus": f"{spec.name}: {len(docs):,} documents",
        "chunks": chunks,
        "single": {
            "wall_s": round(single_s, 1),
            "cpu_s": round(single_cpu, 1),
            "chunks_per_s": round(chunks / single_s, 1),
        },
        "ray": {
            "init_s": round(init_s, 1),
            "wall_s": round(ray_s, 1),
            "driver_cpu_s": round(ray_cpu, 1),
            "encode_wall_s": round(stats["wall_s"], 1),
            "actor_busy_s": round(stats["actor_busy_s"], 1),
            "workers": int(stats["workers"]),
            "per_worker_chunks_per_s": round(per_worker, 1),
            "driver_s": round(driver_s, 1),
        },
        "projected": [{"workers": n, "build_s": round(driver_s + chunks / (n * per_worker), 1)} for n in WORKERS],
    }


def render_ray(r: dict[str, Any], run: dict[str, str] | None = None) -> list[str]:
    s, y = r["single"], r["ray"]
    out = [
        "## Indexing on Ray against one process (same corpus, same process, everything encoded)",
        "",
        *([f"`{run['command']}`, {run['created']}.", ""] if run else []),
        f"{r['corpus']}, {r['chunks']:,} chunks. Ray: a local cluster of {y['workers']} CPUs (Ray Data actors, "
        f"one per CPU); `ray.init` took {y['init_s']} s and is not in the build time.",
        "",
    ]
    out += table(
        ["build", "wall s", "CPU s (this process)", "chunks/s"],
        [
            ["single process", s["wall_s"], s["cpu_s"], s["chunks_per_s"]],
            ["Ray (local)", y["wall_s"], y["driver_cpu_s"], round(r["chunks"] / y["wall_s"], 1)],
        ],
    )
    out += [
        "",
        f"In the Ray build the encoder pass took {y['encode_wall_s']} s of wall clock; the actors were busy "
        f"{y['actor_busy_s']} s in all, **{y['per_worker_chunks_per_s']} chunks/s per worker**; the driver's "
        f"own work (chunking, BM25, FAISS, the write) took {y['driver_s']} s. On these 2 cores the Ray build ran "
        f"at {r['chunks'] / y['wall_s'] / s['chunks_per_s']:.2f}x the single process's speed (two one-thread "
        "actors against one process with two ONNX threads): no real gain, as expected. Projected build time "
        "on N workers of this speed (driver time + chunks / (N x per-worker rate); the driver's part does not "
        "shrink):",
        "",
    ]
    out += table(["workers", "projected build s"], [[p["workers"], p["build_s"]] for p in r["projected"]])
    return out
