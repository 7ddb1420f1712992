"""Hybrid candidates: BM25 (bm25s) and dense (FAISS) top-n lists fused with RRF.

Cost per query: one embedding of the question (~3 ms with the ONNX MiniLM), one BM25
scoring over the vocabulary postings, one FAISS search. Each candidate keeps its
``bm25``, ``dense`` and ``rrf`` scores so later stages and the trace can explain it.
"""

from __future__ import annotations

import numpy as np

from ragengine.config import RETRIEVAL_MODES
from ragengine.embed.base import Embedder
from ragengine.errors import InvalidInput
from ragengine.index.base import ChunkStore
from ragengine.retrieve.fusion import rrf
from ragengine.types import Candidate, Retrieved

MODES = RETRIEVAL_MODES


class HybridRetriever:
    """``retrieve(query, k)``: the top ``k`` fused candidates from ``depth`` per retriever."""

    def __init__(
        self, index: ChunkStore, embedder: Embedder, *, mode: str = "hybrid", depth: int = 100, rrf_k: int = 60
    ) -> None:
        if mode not in MODES:
            raise InvalidInput(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        if depth <= 0 or rrf_k <= 0:
            raise InvalidInput(f"depth and rrf_k must be > 0, got {depth}, {rrf_k}")
        self.index = index
        self.embedder = embedder
        self.mode = mode
        self.depth = depth
        self.rrf_k = rrf_k
        self._pos: dict[str, int] | None = None

    def retrieve(self, query: str, k: int = 30) -> Retrieved:
        if k <= 0:
            raise InvalidInput(f"k must be > 0, got {k}")
        depth = max(self.depth, k)
        in_store = getattr(self.index, "fused_search", None) if self.mode == "hybrid" else None
        if in_store is not None:
            qv = np.asarray(self.embedder.embed([query])[0], dtype=np.float32)
            got = in_store(query, qv, depth, k, self.rrf_k)
            if got is not None:  # the store fused both lists in one query
                return self._from_fused(got, qv)
        lists: list[list[int]] = []
        bm25_scores: dict[int, float] = {}
        dense_scores: dict[int, float] = {}
        qvec = None
        if self.mode in ("hybrid", "bm25"):
            ids, scores = self.index.lexical_search(query, depth)
            bm25_scores = dict(zip(ids.tolist(), scores.tolist(), strict=True))
            lists.append(ids.tolist())
        if self.mode in ("hybrid", "dense"):
            qvec = self.embedder.embed([query])[0]
            scores2, ids2 = self.index.dense_search(qvec[None, :], depth)
            keep = ids2[0] >= 0
            dense_scores = dict(zip(ids2[0][keep].tolist(), scores2[0][keep].tolist(), strict=True))
            lists.append(ids2[0][keep].tolist())
        fused = rrf(lists, self.rrf_k)[:k]
        cands = []
        for rank, (i, s) in enumerate(fused):
            ev = {"rrf": s}
            if i in bm25_scores:
                ev["bm25"] = bm25_scores[i]
            if i in dense_scores:
                ev["dense"] = dense_scores[i]
            cands.append(Candidate(self.index.chunks[i], s, rank, ev))
        return Retrieved(
            cands,
            None if qvec is None else np.asarray(qvec, dtype=np.float32),
            {"bm25_hits": len(bm25_scores), "dense_hits": len(dense_scores)},
        )

    def _from_fused(self, got: list[tuple[int, float, float | None, float | None]], qvec: np.ndarray) -> Retrieved:
        cands = []
        for rank, (i, s, bm25, dense) in enumerate(got):
            ev = {
                "rrf": s,
                **({"bm25": bm25} if bm25 is not None else {}),
                **({"dense": dense} if dense is not None else {}),
            }
            cands.append(Candidate(self.index.chunks[i], s, rank, ev))
        hits = {
            "bm25_hits": sum(b is not None for _, _, b, _ in got),
            "dense_hits": sum(d is not None for *_, d in got),
        }
        return Retrieved(cands, qvec, {**hits, "fused_in_store": 1})

    def chunk_vectors(self, candidates: list[Candidate]) -> np.ndarray:
        """The stored (float16) vectors of the candidates, as float32 rows in candidate order."""
        if self._pos is None:
            self._pos = {c.chunk_id: i for i, c in enumerate(self.index.chunks)}
        pos = self._pos
        return np.asarray(self.index.vectors[[pos[c.chunk.chunk_id] for c in candidates]], dtype=np.float32)
