"""Selectors by name, for ``--strategy`` and configs: ``get_selector("mcts", iterations=500)``.

Constructors only validate and store (no work happens until ``select``), so building a selector
per query costs microseconds.

>>> get_selector("knapsack").name
'knapsack'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ragengine.config import STRATEGIES
from ragengine.errors import InvalidInput
from ragengine.select.base import Selector
from ragengine.select.dos import DOSSelector
from ragengine.select.evidence import EvidenceSelector, selector_needs_counter
from ragengine.select.greedy import GreedySelector
from ragengine.select.knapsack import KnapsackSelector
from ragengine.select.mcts import MCTSSelector
from ragengine.select.mmr import MMRSelector
from ragengine.tokens import TokenCounter

_FACTORIES: dict[str, Callable[..., Selector]] = {
    "greedy": GreedySelector,
    "dos": DOSSelector,
    "mmr": MMRSelector,
    "knapsack": KnapsackSelector,
    "mcts": MCTSSelector,
    "evidence": EvidenceSelector,
}
if tuple(_FACTORIES) != STRATEGIES:  # the config names every strategy, in this order
    raise ImportError(f"selector registry {tuple(_FACTORIES)} and config.STRATEGIES {STRATEGIES} disagree")


def get_selector(name: str, *, counter: TokenCounter | None = None, **options: Any) -> Selector:
    """The selector called ``name`` (case-insensitive), built with ``options`` as keyword arguments.

    ``counter``: the reader's token counter, handed to the strategies that count text themselves
    (``evidence`` splits chunks into sentences) unless ``options`` name one; the others ignore it.
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in _FACTORIES:
        raise InvalidInput(f"unknown selection strategy {name!r}; valid names: {', '.join(STRATEGIES)}")
    if counter is not None and selector_needs_counter(key):
        options.setdefault("counter", counter)
    try:
        return _FACTORIES[key](**options)
    except TypeError as e:
        raise InvalidInput(f"bad options for strategy {key!r}: {e}") from e
