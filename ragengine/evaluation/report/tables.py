"""Markdown helpers shared by every report: one table layout and one way to print a value with its interval.

Cost: string formatting only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def table(head: Sequence[Any], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A Markdown table as lines: header, ``|---|`` rule, one line per row (cells printed with ``str``)."""
    out = [row(head), "|" + "---|" * len(head)]
    return out + [row(r) for r in rows]


def row(cells: Sequence[Any]) -> str:
    """One Markdown table line."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def interval(ci: Sequence[float] | None, scale: float = 1.0, digits: int = 3) -> str:
    """``mean [lo, hi]`` of a ``[mean, lo, hi, ...]`` list scaled by ``scale``; ``-`` when there is none."""
    if not ci:
        return "-"
    m, lo, hi = (float(x) * scale for x in ci[:3])
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def number(x: float | None, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals; ``n/a`` for a missing or NaN value."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"
