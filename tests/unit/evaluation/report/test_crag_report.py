"""The crag-rewrite-cache bench's arithmetic and its report rendering."""

from __future__ import annotations

import json

import pytest

from ragengine.evaluation.experiments.crag import tokens_to_reach
from ragengine.evaluation.report.crag import render
from tests.conftest import REPO


def test_tokens_to_reach_interpolates_between_budgets() -> None:
    rates, tokens = [0.5, 0.7, 0.9], [100.0, 200.0, 400.0]
    assert tokens_to_reach(rates, tokens, 0.5) == 100.0
    assert tokens_to_reach(rates, tokens, 0.8) == pytest.approx(300.0)  # halfway from 0.7 to 0.9
    assert tokens_to_reach(rates, tokens, 0.95) is None  # never reached
    assert tokens_to_reach([0.9, 0.8], [50.0, 90.0], 0.85) == 50.0  # reached at the first budget


def test_committed_report_is_what_render_makes_of_its_json() -> None:
    base = REPO / "eval" / "results" / "crag-rewrite-cache"
    res = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
    assert render(res) == base.with_suffix(".md").read_text(encoding="utf-8")
