"""Maximal Marginal Relevance under a token budget: relevant, but not more of the same.

Why: top-k often holds near-duplicates (the same passage from two sources, neighbouring
chunks); MMR trades relevance against similarity to what is already chosen. At each step it
takes, among the candidates that still fit the remaining budget, the one maximising
``lam * rel_i - (1 - lam) * max_{j chosen} sim(i, j)``; it stops when nothing fits.

- ``rel_i``: the candidate's fused score, min-max scaled to [0, 1] over the candidates
  (the retriever's best judgement of relevance, BM25 and dense together).
- ``sim``: cosine of ``inp.chunk_vectors`` when given, else Jaccard overlap of word sets.

Ties go to the better rank. Prompt order = the order MMR picked (the first is the most relevant).
Cost: O(k * n) after an O(n^2) similarity matrix (O(n^2 d) with vectors, O(n^2 w) with words).

>>> from ragengine.testing import make_candidates
>>> from ragengine.select.base import SelectionInput
>>> cands = make_candidates(["paris capital france", "paris capital france", "seine river"])
>>> sel = MMRSelector(lam=0.5).select(SelectionInput("q", cands, [3, 3, 2], budget_tokens=6))
>>> [c.chunk.chunk_id for c in sel.chosen]
['c0', 'c2']
"""

from __future__ import annotations

import re

import numpy as np

from ragengine.errors import InvalidInput
from ragengine.select.base import SelectionInput, make_selection
from ragengine.types import Selection

_WORD = re.compile(r"\w+", re.UNICODE)


def jaccard_matrix(texts: list[str]) -> np.ndarray:
    """Pairwise Jaccard similarity of lowercased word sets (1.0 on the diagonal)."""
    sets = [set(_WORD.findall(t.lower())) for t in texts]
    n = len(sets)
    out = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            union = len(sets[i] | sets[j])
            out[i, j] = out[j, i] = len(sets[i] & sets[j]) / union if union else 0.0
    return out


class MMRSelector:
    """Greedy MMR: ``lam`` = 1 is pure relevance (greedy), ``lam`` = 0 pure diversity."""

    name = "mmr"

    def __init__(self, lam: float = 0.7) -> None:
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0.0 <= lam <= 1.0:
            raise InvalidInput(f"lam must be a number in [0, 1], got {lam!r}; 0.7 is a common choice")
        self.lam = float(lam)

    def similarity(self, inp: SelectionInput) -> tuple[np.ndarray, str]:
        n = len(inp.candidates)
        if inp.chunk_vectors is not None:
            v = np.asarray(inp.chunk_vectors, dtype=np.float64)
            if v.ndim != 2 or v.shape[0] != n:
                raise InvalidInput(f"chunk_vectors has shape {v.shape}; expected ({n}, d), one row per candidate")
            norms = np.linalg.norm(v, axis=1, keepdims=True)
            v = v / np.where(norms == 0, 1.0, norms)
            return v @ v.T, "cosine"
        return jaccard_matrix([c.chunk.text for c in inp.candidates]), "jaccard"

    def select(self, inp: SelectionInput) -> Selection:
        n = len(inp.candidates)
        if n == 0:
            return make_selection(inp, [], self.name)
        scores = np.array([float(c.score) for c in inp.candidates])
        span = scores.max() - scores.min()
        rel = (scores - scores.min()) / span if span > 0 else np.ones(n)
        sim, kind = self.similarity(inp)
        costs = np.asarray(inp.costs)
        redundancy = np.zeros(n)  # max similarity to anything chosen so far
        free = np.ones(n, dtype=bool)
        left, order = inp.budget_tokens, []
        while True:
            ok = free & (costs <= left)
            if not ok.any():
                break
            mmr = np.where(ok, self.lam * rel - (1.0 - self.lam) * redundancy, -np.inf)
            i = int(np.argmax(mmr))  # argmax takes the first (best-ranked) of ties
            order.append(i)
            free[i] = False
            left -= int(costs[i])
            redundancy = np.maximum(redundancy, sim[i])
        return make_selection(inp, order, self.name, similarity=kind, lam=self.lam)
