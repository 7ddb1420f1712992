"""The selector stage: choose which candidates enter the prompt, under a hard token budget.

A selector sees each candidate's exact cost in tokens (the chunk as it is placed in
the prompt, separator included) and must return a combination whose summed cost is
at most ``budget_tokens``. The pipeline re-counts the assembled context exactly and
trims if a tokenizer merge across a boundary ever made it longer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ragengine.errors import InvalidInput
from ragengine.types import Candidate, Selection


@dataclass(frozen=True)
class SelectionInput:
    """Everything a selector may use. ``costs[i]`` is the token cost of ``candidates[i]``.

    ``query_vector`` (d,) and ``chunk_vectors`` (n, d) are L2-normalised embeddings when the
    pipeline has them (dense retrieval ran); reward models that need them check for None.
    """

    query: str
    candidates: Sequence[Candidate]
    costs: Sequence[int]
    budget_tokens: int
    query_vector: np.ndarray | None = None
    chunk_vectors: np.ndarray | None = None
    seed: int = 0
    options: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.costs) != len(self.candidates):
            raise InvalidInput(f"costs has {len(self.costs)} entries for {len(self.candidates)} candidates")
        if isinstance(self.budget_tokens, bool) or not isinstance(self.budget_tokens, int) or self.budget_tokens <= 0:
            raise InvalidInput(f"budget_tokens must be a positive int, got {self.budget_tokens!r}")
        if any(c <= 0 for c in self.costs):
            raise InvalidInput("every candidate cost must be >= 1 token")


class Selector(Protocol):
    """One verb: ``select``. ``name`` is what ``--strategy`` calls it."""

    name: str

    def select(self, inp: SelectionInput) -> Selection: ...


def empty_reason(inp: SelectionInput) -> str:
    """The reason given when nothing fits: says the smallest candidate and the budget."""
    if not inp.candidates:
        return "no candidates were retrieved"
    smallest = min(inp.costs)
    return (
        f"no candidate fits the budget: the smallest costs {smallest} tokens and the budget is "
        f"{inp.budget_tokens}; raise the budget or index with a smaller chunk size"
    )


def make_selection(inp: SelectionInput, order: Sequence[int], strategy: str, **stats: object) -> Selection:
    """Build a Selection from candidate indices in prompt order, recording why the rest were dropped."""
    chosen = tuple(inp.candidates[i] for i in order)
    used = sum(inp.costs[i] for i in order)
    if used > inp.budget_tokens:  # a selector bug must never reach a prompt
        raise RuntimeError(f"{strategy} selected {used} tokens over a budget of {inp.budget_tokens}")
    picked = set(order)
    dropped = {}
    for i, c in enumerate(inp.candidates):
        if i not in picked:
            dropped[c.chunk.chunk_id] = "over budget" if inp.costs[i] > inp.budget_tokens - used else "not chosen"
    reason = "" if chosen else empty_reason(inp)
    return Selection(chosen, used, inp.budget_tokens, strategy, reason, dropped, dict(stats))
