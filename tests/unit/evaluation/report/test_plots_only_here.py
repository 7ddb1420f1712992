"""matplotlib is imported by one module of the offline code, ``evaluation/report/plots.py``."""

from __future__ import annotations

import re

from tests.conftest import REPO


def test_only_the_plot_helper_imports_matplotlib() -> None:
    pattern = re.compile(r"^\s*(import matplotlib|from matplotlib)", re.M)
    found = sorted(
        str(p.relative_to(REPO))
        for folder in ("evaluation", "training")
        for p in (REPO / "ragengine" / folder).rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    )
    assert found == ["ragengine/evaluation/report/plots.py"]
