"""The encoder pass of a build on a Ray cluster (Ray Data), for corpora one machine encodes too slowly.

Inside ``with on_ray(address):`` every build's encoder pass (dense vectors, term weights and
sentence vectors: the whole ``encode_texts``) runs as a Ray Data ``map_batches`` over actors that
each load the int8 MiniLM once; everything else (chunking, BM25, FAISS, clusters, the write) stays
in the driver, so the index is the same as a single-process build: the same chunk ids, and on the
demo corpus bit-identical vectors and term weights (the test allows 5e-3, as batches are split
differently across actors). ``address`` is a Ray cluster address (``ray://HOST:10001`` or
``auto``); None starts a local Ray on this machine's cores. Workers must have ragengine installed
(``pip install 'ragengine[ray]'``).

Cost: Ray's start (seconds locally) and one copy of the texts and results through its object
store. On 2 cores there is no real speed-up (measured 1.09x: two one-thread actors against one
process with two ONNX threads); the gain is the worker count of a real cluster
(``eval/results/scaleout.md`` gives the per-worker rate).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from ragengine.errors import InvalidInput, MissingDependency
from ragengine.rerank.sparse import TermMatrix

log = logging.getLogger(__name__)
_ADDRESS: ContextVar[str | None] = ContextVar("ragengine_ray", default=None)
LOCAL = "local"
LAST: dict[str, float] = {}
"""The last Ray encoder pass: texts, workers, wall seconds and actor-busy seconds (for the benchmark)."""


@contextmanager
def on_ray(address: str | None) -> Iterator[None]:
    """Run the encoder passes of builds inside this block on Ray (``address`` None: a local Ray)."""
    token = _ADDRESS.set(address or LOCAL)
    try:
        yield
    finally:
        _ADDRESS.reset(token)


def active() -> str | None:
    return _ADDRESS.get()


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise MissingDependency("distributed indexing (ray)", "ray") from e
    return ray


def start(address: str) -> Any:
    """Connect to (or start) Ray once per process; returns the module."""
    ray = _ray()
    if not ray.is_initialized():
        if address == LOCAL:
            ray.init(
                num_cpus=os.cpu_count() or 1,
                include_dashboard=False,
                object_store_memory=300 * 2**20,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
        else:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    return ray


class _Encoder:
    """A Ray Data actor: loads the term weighter once and encodes each batch it is handed."""

    def __init__(self) -> None:
        from ragengine.rerank.encoder import TokenEncoder
        from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, TermWeighter, TermWeights

        # one CPU per actor (Ray schedules them so): one ONNX thread, not the single process's two
        weights = TermWeights.load(DEFAULT_WEIGHTS)
        window, overlap = int(weights.config.get("window", 256)), int(weights.config.get("overlap", 32))
        self.weighter = TermWeighter(weights, TokenEncoder(window=window, overlap=overlap, threads=1))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        t0 = time.perf_counter()
        texts = [str(t) for t in batch["text"]]
        spans = [json.loads(s) for s in batch["spans"]] if "spans" in batch and batch["spans"][0] != "" else None
        terms, vectors, flat = self.weighter.passage_encoding(texts, spans, batch=len(texts))
        counts = [len(s) for s in spans] if spans is not None else [0] * len(texts)
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        rows = range(len(texts))
        return {
            "row": batch["row"],
            "vector": np.asarray(vectors, np.float32),
            "ids": [terms.indices[terms.indptr[i] : terms.indptr[i + 1]].tobytes() for i in rows],
            "vals": [terms.data[terms.indptr[i] : terms.indptr[i + 1]].tobytes() for i in rows],
            "sent": [np.asarray(flat[bounds[i] : bounds[i + 1]], np.float16).tobytes() for i in rows],
            "busy_s": np.full(len(texts), (time.perf_counter() - t0) / max(1, len(texts))),
        }


def encode_on_ray(
    texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]] | None, *, batch: int, dim: int, n_cols: int
) -> tuple[TermMatrix, np.ndarray, list[np.ndarray] | None]:
    """Term weights, vectors and per-text sentence vectors of ``texts``, encoded by Ray actors, in input order."""
    address = active()
    if address is None:
        raise InvalidInput("encode_on_ray runs inside `with on_ray(address):`")
    ray = start(address)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    items = [
        {"row": i, "text": t, "spans": json.dumps(spans[i]) if spans is not None else ""} for i, t in enumerate(texts)
    ]
    workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items) // batch + 1, 4 * workers)))
    out = ds.map_batches(_Encoder, batch_size=batch, concurrency=workers, batch_format="numpy", num_cpus=1)
    got: dict[int, tuple[np.ndarray, bytes, bytes, bytes]] = {}
    t0, busy = time.perf_counter(), 0.0
    for b in out.iter_batches(batch_format="numpy", batch_size=None):
        busy += float(np.sum(b["busy_s"]))
        for j, r in enumerate(b["row"]):
            got[int(r)] = (b["vector"][j], b["ids"][j], b["vals"][j], b["sent"][j])
    LAST.update(texts=len(texts), workers=workers, wall_s=time.perf_counter() - t0, actor_busy_s=busy)
    if len(got) != len(texts):
        raise RuntimeError(f"Ray returned {len(got)} of {len(texts)} encoded texts")
    order = [got[i] for i in range(len(texts))]
    vectors = np.stack([o[0] for o in order]).astype(np.float32) if order else np.zeros((0, dim), np.float32)
    ids = [np.frombuffer(o[1], np.int32) for o in order]
    vals = [np.frombuffer(o[2], np.float32) for o in order]
    indptr = np.concatenate([[0], np.cumsum([len(x) for x in ids])]).astype(np.int64)
    empty32 = np.zeros(0, np.int32)
    terms = TermMatrix(
        indptr,
        np.concatenate(ids) if ids else empty32,
        np.concatenate(vals) if vals else np.zeros(0, np.float32),
        n_cols,
    )
    sentences = None if spans is None else [np.frombuffer(o[3], np.float16).reshape(-1, dim) for o in order]
    return terms, vectors, sentences
