"""CRAG clustering at index time (arXiv 2406.00029): k-means over chunk embeddings, with summaries.

The number of clusters follows the corpus size: ``k = round(sqrt(n_chunks))`` clamped to
``[1, n_chunks // 2]`` (a cluster averages sqrt(n) chunks: 2,600 SQuAD chunks give 51 clusters of
about 51 chunks; 5 chunks give 2 clusters). ``n_clusters`` overrides it. K-means is FAISS's
spherical k-means (centroids re-normalised, so assignment is by cosine), seeded: the same chunks,
vectors and seed give the same clusters.

Besides centroids and assignments, the build stores every chunk's sentences (spans, exact token
counts, and embeddings from the index's own embedder) so that query-time excerpts need no
embedding call, and one summary per cluster (``summary.py``). Everything is saved as
``clusters/clusters.npz`` (numpy arrays, loaded with ``allow_pickle=False``) and
``clusters/clusters.json`` (parameters, summaries, indexing cost).

Cost: one embedding per sentence (about 4-5 per 128-token chunk; ~800 sentences/s with the ONNX
MiniLM), k-means in well under a second for a few thousand chunks, and for abstractive summaries
one generator call per cluster (tokens reported in ``ClusterSet.indexing``).

>>> from ragengine.testing import HashEmbedder, WhitespaceCounter
>>> n_clusters_for(2600), n_clusters_for(5), n_clusters_for(1)
(51, 2, 1)
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.cluster.sentences import SentenceTable, split_chunks
from ragengine.cluster.summary import (
    ClusterSummary,
    abstractive_summary,
    check_mode,
    extractive_summary,
)
from ragengine.embed.base import Embedder, l2_normalise
from ragengine.errors import IndexCorrupted, IndexMismatch, InvalidInput, MissingDependency
from ragengine.tokens import TokenCounter
from ragengine.types import Chunk

log = logging.getLogger(__name__)
CLUSTER_DIR = "clusters"
ARRAYS = "clusters.npz"
META = "clusters.json"
FORMAT = 1


def n_clusters_for(n_chunks: int) -> int:
    """The documented rule: ``round(sqrt(n))`` clamped to ``[1, n // 2]`` (1 for n < 4)."""
    if isinstance(n_chunks, bool) or not isinstance(n_chunks, int) or n_chunks < 1:
        raise InvalidInput(f"n_chunks must be a positive int, got {n_chunks!r}")
    return max(1, min(round(math.sqrt(n_chunks)), n_chunks // 2))


def chunk_fingerprint(chunk_ids: list[str]) -> str:
    """A short hash of the chunk ids in index order: clusters belong to exactly one chunk list."""
    return hashlib.sha256("\n".join(chunk_ids).encode("utf-8")).hexdigest()[:16]


@dataclass
class ClusterSet:
    """Clusters of one index: centroids (k, d), each chunk's cluster, sentences, and summaries."""

    centroids: np.ndarray
    assign: np.ndarray
    sentences: SentenceTable
    summaries: list[ClusterSummary]
    params: dict[str, Any]
    indexing: dict[str, Any] = field(default_factory=dict)
    _members: list[np.ndarray] | None = field(default=None, repr=False)
    _sent_by_row: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    def members(self, cluster: int) -> np.ndarray:
        """Chunk rows of ``cluster`` in index order."""
        if self._members is None:
            order = np.argsort(self.assign, kind="stable")
            bounds = np.searchsorted(self.assign[order], np.arange(self.k + 1))
            self._members = [order[bounds[c] : bounds[c + 1]] for c in range(self.k)]
        return self._members[cluster]

    def sentences_of(self, rows: np.ndarray) -> np.ndarray:
        """Sentence ids of the chunk rows ``rows`` (in the order of ``rows``)."""
        if self._sent_by_row is None:
            n = int(self.assign.shape[0])
            bounds = np.searchsorted(self.sentences.chunk, np.arange(n + 1))
            self._sent_by_row = [np.arange(bounds[r], bounds[r + 1]) for r in range(n)]
        parts = [self._sent_by_row[int(r)] for r in rows]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _kmeans(x: np.ndarray, k: int, seed: int, niter: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        import faiss
    except ImportError as e:
        raise MissingDependency("clustering (faiss)", "cpu") from e
    km = faiss.Kmeans(
        x.shape[1],
        k,
        niter=niter,
        seed=seed,
        spherical=True,
        verbose=False,
        min_points_per_centroid=1,
        max_points_per_centroid=1_000_000,
    )
    km.train(x)
    centroids = l2_normalise(np.asarray(km.centroids, dtype=np.float32))
    assign = np.argmax(x @ centroids.T, axis=1).astype(np.int32)
    return centroids, assign


def build_clusters(
    chunks: list[Chunk],
    vectors: np.ndarray,
    counter: TokenCounter,
    *,
    embedder: Embedder,
    seed: int = 0,
    summary_cap_tokens: int = 96,
    n_clusters: int | None = None,
    summary: str = "extractive",
    generator: Any = None,
    niter: int = 20,
    sentences: SentenceTable | None = None,
) -> ClusterSet:
    """Cluster ``chunks`` (rows of ``vectors``, L2-normalised) and summarise each cluster.

    ``embedder`` embeds the chunks' sentences (use the index's embedder: query vectors are
    compared with them). ``generator`` is needed only for ``summary="abstractive"``.
    ``sentences``: the chunks' sentence table already made, vectors included (e.g. pooled from the
    chunk pass's token states, or kept from the index's previous version), so nothing is split,
    counted or embedded again.
    """
    n = len(chunks)
    if n == 0 or vectors.ndim != 2 or vectors.shape[0] != n:
        raise InvalidInput(f"need one vector per chunk: {n} chunks, vectors of shape {vectors.shape}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidInput(f"seed must be an int, got {seed!r}")
    if isinstance(summary_cap_tokens, bool) or not isinstance(summary_cap_tokens, int) or summary_cap_tokens < 8:
        raise InvalidInput(f"summary_cap_tokens must be an int >= 8, got {summary_cap_tokens!r}")
    k = n_clusters_for(n) if n_clusters is None else n_clusters
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise InvalidInput(f"n_clusters must be an int in [1, {n}] (the number of chunks), got {n_clusters!r}")
    check_mode(summary, generator)
    t0 = time.perf_counter()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    centroids, assign = _kmeans(x, k, seed, niter)
    texts = [c.text for c in chunks]
    if sentences is not None:
        table = sentences
        if table.vectors.shape[1:] != (x.shape[1],) or (len(table) and int(table.chunk.max()) >= n):
            raise InvalidInput(f"the sentence table does not fit {n} chunks of vectors {x.shape[1]} wide")
        n_sents = len(table)
    else:
        rows, spans, tokens, sents = split_chunks(texts, counter)
        svec = embedder.embed(sents).astype(np.float16) if sents else np.zeros((0, x.shape[1]), np.float16)
        table = SentenceTable(rows, spans, tokens, svec)
        n_sents = len(sents)
    cs = ClusterSet(centroids, assign, table, [], {})
    summaries: list[ClusterSummary] = []
    spent = {"tokens_in": 0, "tokens_out": 0, "llm_calls": 0}
    for c in range(k):
        sids = cs.sentences_of(cs.members(c))
        if summary == "abstractive":
            s = abstractive_summary(c, sids, table, texts, centroids[c], counter, summary_cap_tokens, generator)
            for key in spent:
                spent[key] += s.cost.get(key, 0)
        else:
            s = extractive_summary(c, sids, table, texts, centroids[c], counter, summary_cap_tokens)
        summaries.append(s)
    cs.summaries = summaries
    cs.params = {
        "format": FORMAT,
        "k": k,
        "k_rule": "round(sqrt(n_chunks)) clamped to [1, n_chunks // 2]" if n_clusters is None else "given",
        "seed": seed,
        "niter": niter,
        "summary": summary,
        "summary_cap_tokens": summary_cap_tokens,
        "embedder": getattr(embedder, "id", ""),
        "tokenizer": getattr(counter, "name", ""),
        "n_chunks": n,
        "n_sentences": n_sents,
        "sentence_vectors": "standalone" if sentences is None else "given",
        "chunks": chunk_fingerprint([c.chunk_id for c in chunks]),
    }
    cs.indexing = {**spent, "ms": round((time.perf_counter() - t0) * 1000, 1)}
    log.info("clustered %d chunks into %d clusters (%d sentences)", n, k, n_sents)
    return cs


def save_clusters(folder: Path, cs: ClusterSet) -> list[Path]:
    """Write ``folder/clusters/`` (npz + JSON, no pickle); returns the files written."""
    out = Path(folder) / CLUSTER_DIR
    out.mkdir(parents=True, exist_ok=True)
    t = cs.sentences
    np.savez(
        out / ARRAYS,
        centroids=cs.centroids.astype(np.float32),
        assign=cs.assign.astype(np.int32),
        sent_chunk=t.chunk,
        sent_span=t.span,
        sent_tokens=t.tokens,
        sent_vectors=t.vectors.astype(np.float16),
    )
    meta = {"params": cs.params, "indexing": cs.indexing, "summaries": [s.to_dict() for s in cs.summaries]}
    (out / META).write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    return [out / ARRAYS, out / META]


def has_clusters(folder: Path) -> bool:
    return (Path(folder) / CLUSTER_DIR / META).is_file() and (Path(folder) / CLUSTER_DIR / ARRAYS).is_file()


def load_clusters(folder: Path, chunks: list[Chunk] | None = None) -> ClusterSet:
    """Read ``folder/clusters/``; with ``chunks``, check the clusters were built on exactly those chunks."""
    base = Path(folder) / CLUSTER_DIR
    if not has_clusters(folder):
        raise IndexCorrupted(
            f"{folder} has no clusters/ folder; build the index with clusters on "
            "(ragengine.cluster.build_clusters + save_clusters)"
        )
    try:
        meta = json.loads((base / META).read_text(encoding="utf-8"))
        with np.load(base / ARRAYS, allow_pickle=False) as z:
            arrays = {name: np.asarray(z[name]) for name in z.files}
        table = SentenceTable(arrays["sent_chunk"], arrays["sent_span"], arrays["sent_tokens"], arrays["sent_vectors"])
        summaries = [ClusterSummary.from_dict(d) for d in meta["summaries"]]
        cs = ClusterSet(arrays["centroids"], arrays["assign"], table, summaries, meta["params"], meta["indexing"])
    except (KeyError, ValueError, TypeError, json.JSONDecodeError) as e:
        raise IndexCorrupted(f"{base} is not a valid cluster store ({e}); rebuild the clusters") from e
    if chunks is not None:
        fp = chunk_fingerprint([c.chunk_id for c in chunks])
        if fp != cs.params.get("chunks") or len(chunks) != cs.assign.shape[0]:
            raise IndexMismatch(
                f"the clusters in {base} were built on other chunks ({cs.params.get('n_chunks')} chunks, "
                f"fingerprint {cs.params.get('chunks')}) than the index holds ({len(chunks)}, {fp}); rebuild them"
            )
    return cs
