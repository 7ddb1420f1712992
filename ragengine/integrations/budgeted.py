"""A framework's retrieved texts selected under a hard token budget: what every adapter shares.

An adapter (llama-index nodes, LangChain documents) hands over the texts as the prompt will show
them, with their document ids, scores and positions; they become ragengine candidates, each
costing its exact tokens plus one separator, and the chosen ones are re-counted and trimmed as the
engine does (``assemble.fit``), so the context never exceeds the budget. Chunk selectors keep
whole texts (``keep``: input positions, in the selector's order); the evidence selector returns
sentence blocks under their document titles (``blocks``), whose ``source_chunk_ids`` metadata
names the input positions they came from.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ragengine import assemble
from ragengine.select.base import Selector
from ragengine.select.evidence import selector_needs_counter
from ragengine.tokens import TokenCounter
from ragengine.types import Candidate, Chunk, Selection


@dataclass(frozen=True)
class Budgeted:
    """What a budgeted selection kept: whole inputs (``keep``) or sentence ``blocks``, and its trace."""

    selection: Selection
    keep: tuple[int, ...]
    blocks: tuple[Candidate, ...]


def select_under_budget(
    query: str,
    texts: Sequence[str],
    doc_ids: Sequence[str],
    scores: Sequence[float | None],
    budget: int,
    selector: Selector,
    counter: TokenCounter,
    *,
    positions: Sequence[int | None] | None = None,
    seed: int = 0,
    query_vector: np.ndarray | None = None,
    vectors: np.ndarray | None = None,
) -> Budgeted:
    """Select among ``texts`` (best first) under ``budget`` tokens; a missing score is ``1 / (rank + 1)``."""
    t0 = time.perf_counter()
    if not texts:
        return Budgeted(Selection((), 0, budget, selector.name, "no candidates were retrieved"), (), ())
    cands = []
    for i, text in enumerate(texts):
        score = scores[i]
        value = float(score) if score is not None else 1.0 / (i + 1)
        pos = positions[i] if positions is not None else None
        chunk = Chunk(str(i), doc_ids[i], text, counter.count(text), pos if isinstance(pos, int) else i, {})
        cands.append(Candidate(chunk, value, i, {"input": value}))
    costs = assemble.candidate_costs(cands, counter, counter.name)
    fitted = assemble.fit(
        query, cands, costs, budget, selector, counter, query_vector=query_vector, chunk_vectors=vectors, seed=seed
    )
    sel, chosen = fitted.selection, tuple(fitted.chosen)
    if selector_needs_counter(selector.name):
        return Budgeted(replace(sel, chosen=chosen, context_tokens=fitted.tokens), (), chosen)
    keep = tuple(int(c.chunk.chunk_id) for c in chosen)
    stats = {
        **sel.stats,
        "estimated_tokens": sum(costs[i] for i in keep),
        "candidates": len(texts),
        "select_ms": (time.perf_counter() - t0) * 1000,
    }
    return Budgeted(replace(sel, chosen=chosen, context_tokens=fitted.tokens, stats=stats), keep, ())


__all__ = ["Budgeted", "select_under_budget"]
