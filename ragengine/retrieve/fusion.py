"""Reciprocal-rank fusion (Cormack et al. 2009): score(d) = sum over lists of 1 / (k + rank(d)).

Rank-based, so BM25 and cosine scores need no calibration against each other.

>>> rrf([[3, 1], [1, 2]], k=60)[0][0]
1
"""

from __future__ import annotations

from collections.abc import Sequence


def rrf(rankings: Sequence[Sequence[int]], k: int = 60) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids (best first) into one list of (id, score), best first; ties by first seen."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for r, doc in enumerate(ranking):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + r + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])
