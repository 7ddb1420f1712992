"""The cache stage: decide before retrieval whether a past answer can be served.

``AnswerRoute.route(question, context_budget)`` returns a ``Route`` whose ``path`` is ``cache``
(serve the stored answer), ``cache_chunks`` (re-select the stored chunks under this budget) or
``retrieve``; ``citations`` and ``candidates`` read a hit; ``remember`` stores a new answer.
``cache.trigger.RetrievalTrigger`` over a ``SemanticCache`` is the shipped implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ragengine.types import Citation, Retrieved

if TYPE_CHECKING:
    from ragengine.cache.trigger import Route


class AnswerRoute(Protocol):
    def route(self, question: str, context_budget: int, qvec: np.ndarray | None = None) -> Route: ...

    def citations(self, route: Route) -> list[Citation]: ...

    def candidates(self, route: Route) -> Retrieved: ...

    def remember(
        self,
        question: str,
        answer: str,
        citations: Sequence[Citation],
        context_tokens: int,
        qvec: np.ndarray | None = None,
    ) -> bool: ...
