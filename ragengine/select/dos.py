"""DOS-RAG: greedy fill by score, then put the chosen chunks back in document order.

Why: a reader follows text better in the order it was written than in score order
(Document's Original Structure RAG). Choosing is the same as greedy (walk candidates by
score, take each one that fits), so the two differ only in prompt order.

Prompt order: documents in the order of their best-ranked *chosen* chunk, and inside one
document by ``chunk.position`` (ties by rank). Cost: O(n log n).

>>> from ragengine.testing import make_candidates
>>> from ragengine.select.base import SelectionInput
>>> import dataclasses
>>> cands = make_candidates(["b2", "a1", "b1"])
>>> cands = [dataclasses.replace(c, chunk=dataclasses.replace(c.chunk, doc_id=d, position=p))
...          for c, (d, p) in zip(cands, [("b", 2), ("a", 1), ("b", 1)])]
>>> sel = DOSSelector().select(SelectionInput("q", cands, [1, 1, 1], budget_tokens=3))
>>> [c.chunk.text for c in sel.chosen]
['b1', 'b2', 'a1']
"""

from __future__ import annotations

from ragengine.select.base import SelectionInput, make_selection
from ragengine.types import Selection


class DOSSelector:
    """Greedy by score under the budget, returned grouped by document and in position order."""

    name = "dos"

    def select(self, inp: SelectionInput) -> Selection:
        left, picked = inp.budget_tokens, []
        for i, cost in enumerate(inp.costs):
            if cost <= left:
                picked.append(i)
                left -= cost
        doc_rank: dict[str, int] = {}
        for i in picked:  # picked is in rank order: the first chunk seen of a doc is its best
            doc_rank.setdefault(inp.candidates[i].chunk.doc_id, len(doc_rank))
        chunks = inp.candidates
        order = sorted(picked, key=lambda i: (doc_rank[chunks[i].chunk.doc_id], chunks[i].chunk.position, i))
        return make_selection(inp, order, self.name, documents=len(doc_rank))
