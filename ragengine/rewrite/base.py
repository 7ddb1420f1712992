"""The rewrite stage's result, the no-op rewriter, and RRF fusion of the retrievals of all rewrites.

A rewriter turns one question into the queries to search with (the original first). What it
spent is in the result (``tokens_in``/``tokens_out``/``llm_calls``) for the pipeline to charge to
stage ``rewrite``; ``trace()`` is what the answer's trace shows.

>>> from ragengine.testing import make_candidates
>>> a = Retrieved(make_candidates(["x", "y"]))
>>> b = Retrieved(list(reversed(make_candidates(["x", "y"]))))
>>> [c.chunk.chunk_id for c in fuse_retrievals([a, b, a]).candidates]
['c0', 'c1']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ragengine.errors import InvalidInput
from ragengine.types import Candidate, Retrieved

REWRITE_MODES = ("none", "prf", "llm")


@dataclass(frozen=True)
class Rewrite:
    """Queries to search with (``queries[0]`` is the original question) and what producing them cost."""

    original: str
    queries: tuple[str, ...]
    method: str = "none"
    variants: tuple[str, ...] = ()
    search_queries: tuple[str, ...] = ()
    expansion: dict[str, float] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    llm_calls: int = 0
    fallback: str = ""
    raw: str = ""

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def trace(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "queries": list(self.queries)}
        if self.expansion:
            out["expansion"] = {t: round(w, 4) for t, w in self.expansion.items()}
        if self.llm_calls:
            out["tokens"] = {"in": self.tokens_in, "out": self.tokens_out}
        if self.fallback:
            out["fallback"] = self.fallback
            out["raw"] = self.raw[:300]
        return out


class Rewriter(Protocol):
    """One verb: ``rewrite``. ``name`` is what ``--rewrite`` calls it."""

    name: str

    def rewrite(self, question: str) -> Rewrite: ...


class NoRewriter:
    """The original question only; costs nothing."""

    name = "none"

    def rewrite(self, question: str) -> Rewrite:
        return Rewrite(question, (question,), "none")


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
    score: dict[str, float] = {}
    hits: dict[str, int] = {}
    first: dict[str, Candidate] = {}
    n = len(retrievals)
    if original_weight is None:
        weights = [1.0] * n
    else:  # scaled so that the weights still sum to n (scores stay on the plain-RRF scale)
        weights = [original_weight * n] + [(1 - original_weight) * n / (n - 1)] * (n - 1)
    for ret, w in zip(retrievals, weights, strict=True):
        for r, c in enumerate(ret.candidates):
            cid = c.chunk.chunk_id
            score[cid] = score.get(cid, 0.0) + w / (k + r + 1)
            hits[cid] = hits.get(cid, 0) + 1
            first.setdefault(cid, c)
    order = sorted(score, key=lambda cid: -score[cid])  # stable: ties keep first-seen order
    if limit is not None:
        order = order[:limit]
    cands = [
        Candidate(first[cid].chunk, score[cid], i, {**first[cid].scores, "rrf": score[cid], "hits": float(hits[cid])})
        for i, cid in enumerate(order)
    ]
    stats = {**retrievals[0].stats, "fused_lists": len(retrievals), "fused_pool": len(score)}
    return Retrieved(cands, retrievals[0].query_vector, stats)
