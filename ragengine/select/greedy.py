"""Greedy fill: walk candidates in score order and take each one that still fits.

Cost: O(n). The baseline every other strategy is compared with ("top-k and hope",
but never over budget).

>>> from ragengine.testing import make_candidates
>>> cands = make_candidates(["a b", "c d e", "f"])
>>> sel = GreedySelector().select(SelectionInput("q", cands, [2, 3, 1], budget_tokens=3))
>>> [c.chunk.text for c in sel.chosen]
['a b', 'f']
"""

from __future__ import annotations

from ragengine.select.base import SelectionInput, make_selection
from ragengine.types import Selection


class GreedySelector:
    """Take candidates in the order given (highest score first), skipping what does not fit."""

    name = "greedy"

    def select(self, inp: SelectionInput) -> Selection:
        left = inp.budget_tokens
        order: list[int] = []
        for i, cost in enumerate(inp.costs):
            if cost <= left:
                order.append(i)
                left -= cost
        return make_selection(inp, order, self.name)
