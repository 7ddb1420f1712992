"""The rewrite stage's Protocol, its result and the no-op rewriter.

A rewriter turns one question into the queries to search with (the original first). What it
spent is in the result (``tokens_in``/``tokens_out``/``llm_calls``) for the pipeline to charge to
stage ``rewrite``; ``trace()`` is what the answer's trace shows. The retrievals of all queries
are fused by ``retrieve.fusion.fuse_retrievals``.

>>> NoRewriter().rewrite("Who wrote Hamlet?").queries
('Who wrote Hamlet?',)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ragengine.config import REWRITE_MODES

__all__ = ["REWRITE_MODES", "NoRewriter", "Rewrite", "Rewriter"]


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
