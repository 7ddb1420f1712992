"""The one module that imports matplotlib: a headless pyplot and one way to save a figure.

Every report draws with ``pyplot()`` (the Agg backend, no display needed) and writes with
``save``, so the library and the stages never load matplotlib. Cost: importing matplotlib
(about a second) on the first figure; PNG encoding per figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path, *, rect: tuple[float, float, float, float] | None = None, dpi: int = 110) -> None:
    """Lay ``fig`` out tightly (inside ``rect`` when given), write it to ``path`` and close it."""
    if rect is None:
        fig.tight_layout()
    else:
        fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
