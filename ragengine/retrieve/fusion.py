"""Reciprocal-rank fusion (Cormack et al. 2009): score(d) = sum over lists of w / (k + rank(d)).

Rank-based, so BM25 and cosine scores need no calibration against each other. ``rrf`` fuses
ranked id lists (the hybrid retriever's BM25 and dense lists); ``fuse_retrievals`` fuses the
candidate lists of several queries (a question and its rewrites) by chunk id. Cost: linear in
the summed list lengths plus one sort.

>>> rrf([[3, 1], [1, 2]], k=60)[0][0]
1
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

from ragengine.errors import InvalidInput
from ragengine.types import Candidate, Retrieved

Id = TypeVar("Id", bound=Hashable)


def rrf(
    rankings: Sequence[Sequence[Id]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[Id, float]]:
    """Fuse ranked lists of ids (best first) into one list of (id, score), best first; ties by first seen.

    ``weights`` gives each list its vote (default 1 each).
    """
    scores: dict[Id, float] = {}
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[i]
        for r, doc in enumerate(ranking):
            scores[doc] = scores.get(doc, 0.0) + w / (k + r + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def fuse_retrievals(
    retrievals: Sequence[Retrieved], *, k: int = 60, limit: int | None = None, original_weight: float | None = None
) -> Retrieved:
    """RRF over the candidate lists of several queries, by chunk id; best first, ``limit`` kept.

    ``original_weight`` None gives every list the same vote (plain RRF); a number in (0, 1) gives
    the first list (the original question's) that share of the total vote and splits the rest
    evenly over the rewrites (RM3's interpolation applied to fusion: 0.5 keeps four poor rewrites
    from outvoting the question). A fused candidate keeps the chunk and per-retriever evidence from
    the first list that ranked it, gains ``rrf`` (the fused score) and ``hits`` (how many lists
    found it). The query vector is the first list's.
    """
    if not retrievals:
        raise InvalidInput("fuse_retrievals needs at least one Retrieved")
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidInput(f"k must be a positive int (60 is the usual RRF constant), got {k!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise InvalidInput(f"limit must be a positive int or None, got {limit!r}")
    if original_weight is not None and (
        isinstance(original_weight, bool) or not isinstance(original_weight, int | float) or not 0 < original_weight < 1
    ):
        raise InvalidInput(f"original_weight must be in (0, 1) or None (plain RRF), got {original_weight!r}")
    if len(retrievals) == 1:
        only = retrievals[0]
        return Retrieved(only.candidates[:limit] if limit else list(only.candidates), only.query_vector, only.stats)
    hits: dict[str, int] = {}
    first: dict[str, Candidate] = {}
    n = len(retrievals)
    if original_weight is None:
        weights = [1.0] * n
    else:  # scaled so that the weights still sum to n (scores stay on the plain-RRF scale)
        weights = [original_weight * n] + [(1 - original_weight) * n / (n - 1)] * (n - 1)
    for ret in retrievals:
        for c in ret.candidates:
            cid = c.chunk.chunk_id
            hits[cid] = hits.get(cid, 0) + 1
            first.setdefault(cid, c)
    fused = rrf([[c.chunk.chunk_id for c in ret.candidates] for ret in retrievals], k, weights)
    score = dict(fused)
    order = [cid for cid, _ in fused]
    if limit is not None:
        order = order[:limit]
    cands = [
        Candidate(first[cid].chunk, score[cid], i, {**first[cid].scores, "rrf": score[cid], "hits": float(hits[cid])})
        for i, cid in enumerate(order)
    ]
    stats = {**retrievals[0].stats, "fused_lists": len(retrievals), "fused_pool": len(score)}
    return Retrieved(cands, retrievals[0].query_vector, stats)
