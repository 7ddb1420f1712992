"""Tune the fusion weights of the term re-rank stage by grid search on tune-split queries.

Features (BM25, dense, term scores) are collected once per query from the hybrid candidates,
so each grid point costs only a sort per query. The objective is the mean over test beds of
nDCG@10 (SciFact train dev fold, SQuAD articles 1-24 dev fold): one set of weights for every corpus.
Cost: one feature pass per query, then a sort per query per grid point (seconds).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragengine.evaluation.testbeds import EvalSet
from ragengine.rerank.terms import TermReranker, fuse

_DISCOUNT = 1.0 / np.log2(np.arange(2, 1002))


@dataclass
class QueryFeatures:
    feats: dict[str, np.ndarray]
    gains: np.ndarray  # relevance grade of each candidate
    ideal: np.ndarray  # all relevance grades of the query, best first
    rrf_order: np.ndarray


def collect(es: EvalSet, reranker: TermReranker, depth: int = 100) -> list[QueryFeatures]:
    out = []
    for i, q in enumerate(es.queries):
        cands, rows = es.candidates(i, depth)
        feats = reranker.features(q, cands, rows, es.qvecs[i])
        gains = np.array([es.qrels[i].get(int(r), 0) for r in rows], dtype=np.float64)
        ideal = np.array(sorted(es.qrels[i].values(), reverse=True), dtype=np.float64)
        out.append(QueryFeatures(feats, gains, ideal, np.arange(len(rows))))
    return out


def ndcg(order: np.ndarray, qf: QueryFeatures, k: int = 10) -> float:
    """nDCG@k with linear gains (as BEIR/pytrec_eval), ideal over all judged documents."""
    ideal = qf.ideal[:k]
    idcg = float((ideal * _DISCOUNT[: len(ideal)]).sum())
    if idcg == 0:
        return 0.0
    top = qf.gains[order[:k]]
    return float((top * _DISCOUNT[: len(top)]).sum()) / idcg


def mean_ndcg(qfs: Sequence[QueryFeatures], fusion: dict[str, Any] | None, k: int = 10) -> float:
    """Mean nDCG@k of the fused order (``fusion=None``: the incoming RRF order)."""
    vals = []
    for qf in qfs:
        order = qf.rrf_order if fusion is None else np.argsort(-fuse(qf.feats, fusion), kind="stable")
        vals.append(ndcg(order, qf, k))
    return float(np.mean(vals)) if vals else 0.0


def grid_search(
    beds: Mapping[str, Sequence[QueryFeatures]],
    grid: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0),
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Best ``{"method": "minmax", "bm25", "dense", "terms": 1}`` by mean nDCG@10 over beds, and every grid row."""
    rows: list[dict[str, Any]] = []
    for wb, wd in itertools.product(grid, grid):
        fusion = {"method": "minmax", "bm25": wb, "dense": wd, "terms": 1.0}
        scores = {name: mean_ndcg(qfs, fusion) for name, qfs in beds.items()}
        rows.append(fusion | {"ndcg10": scores, "objective": float(np.mean(list(scores.values())))})
    best = max(rows, key=lambda r: (round(r["objective"], 6), -r["bm25"] - r["dense"]))
    return {k: best[k] for k in ("method", "bm25", "dense", "terms")}, rows
