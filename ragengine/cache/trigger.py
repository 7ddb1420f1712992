"""The retrieval trigger: decide per question whether to serve a cached answer, reuse cached
chunks, or retrieve (ERM4's retrieval trigger over its memory knowledge reservoir).

Paths (``Route.path``, which the answer's trace records):

- ``cache``: a cached answer for the same question on this index version, whose context fit in
  this question's context budget: served as is; no retrieval, no selection, no LLM tokens.
- ``cache_chunks``: a hit whose cached context is larger than this budget: its chunks become the
  candidates (``candidates``), so retrieval is skipped but selection and generation re-run
  under the smaller budget (the budget guarantee holds for every answer).

Entries keep their citations (``remember``), so a served answer cites exactly what it was given,
derived cluster chunks included.
- ``retrieve``: no usable entry (or the cache is off): the normal pipeline.

>>> RetrievalTrigger(None).route("Who?", 128).path
'retrieve'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragengine.cache.semantic import CacheHit, SemanticCache
from ragengine.types import Candidate, Chunk, Citation, Retrieved

PATHS = ("cache", "cache_chunks", "retrieve")
NO_ANSWER_PREFIX = "[no answer]"


@dataclass(frozen=True)
class Route:
    path: str
    hit: CacheHit | None = None
    reason: str = ""
    nearest: tuple[dict[str, Any], ...] = ()

    def trace(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "reason": self.reason}
        if self.hit is not None:
            out.update(self.hit.trace())
        if self.nearest:
            out["nearest"] = [{**n, "similarity": round(float(n["similarity"]), 4)} for n in self.nearest[:3]]
        return out


class RetrievalTrigger:
    """``route(question, context_budget, qvec)`` -> Route; ``remember(...)`` stores an answer."""

    def __init__(self, cache: SemanticCache | None) -> None:
        self.cache = cache

    def route(self, question: str, context_budget: int, qvec: np.ndarray | None = None) -> Route:
        if self.cache is None:
            return Route("retrieve", reason="cache off")
        info = self.cache.explain(question, qvec)
        hit, nearest = info["hit"], tuple(info.get("nearest", ()))
        if not isinstance(hit, CacheHit):
            return Route("retrieve", None, str(info.get("reason", "miss")), nearest)
        if hit.entry.context_tokens <= context_budget:
            return Route("cache", hit, hit.reason, nearest)
        why = f"cached context ({hit.entry.context_tokens} tokens) exceeds this budget ({context_budget}); re-selecting"
        return Route("cache_chunks", hit, why, nearest)

    @staticmethod
    def citations(route: Route) -> list[Citation]:
        """The cached answer's citations (stored with the entry, so derived cluster chunks survive)."""
        if route.hit is None:
            return []
        return [Citation(**d) for d in route.hit.entry.extra.get("citations", [])]

    @staticmethod
    def candidates(route: Route, chunks_by_id: dict[str, Chunk] | None = None) -> Retrieved:
        """The cached chunks as candidates (in their cached order) for a ``cache_chunks`` route.

        Chunks come from the stored citations; entries stored without them are looked up by id in
        ``chunks_by_id`` (ids no longer in the index are skipped).
        """
        if route.hit is None:
            return Retrieved([])
        cites = RetrievalTrigger.citations(route)
        if cites:
            found = [Chunk(c.chunk_id, c.doc_id, c.text, c.n_tokens, 0, dict(c.metadata)) for c in cites]
        else:
            lookup = chunks_by_id or {}
            found = [lookup[c] for c in route.hit.entry.chunk_ids if c in lookup]
        n = len(found)
        cands = [Candidate(ch, float(n - i), i, {"cache": 1.0}) for i, ch in enumerate(found)]
        return Retrieved(cands, None, {"from_cache": True})

    def remember(
        self,
        question: str,
        answer: str,
        citations: Sequence[Citation],
        context_tokens: int,
        qvec: np.ndarray | None = None,
    ) -> bool:
        """Store an answered question with its citations; answers that declined or cite nothing are not kept."""
        if self.cache is None or not citations or answer.startswith(NO_ANSWER_PREFIX):
            return False
        self.cache.store(
            question,
            answer,
            [c.chunk_id for c in citations],
            list(dict.fromkeys(c.doc_id for c in citations)),
            context_tokens,
            qvec,
            extra={"citations": [c.to_dict() for c in citations]},
        )
        return True
