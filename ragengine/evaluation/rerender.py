"""Rewrite a committed report's Markdown from its JSON: every report under ``eval/results/`` has a renderer.

It sits beside ``report`` and ``experiments`` because it uses both (the selection goals are an
experiment's judgement, the Markdown a report's).

``render_markdown(json_path)`` picks the renderer by the report's name (``selection``, ``evidence``,
``retrieval``, ``crag-rewrite-cache``, ``selector-tuning``, ``prompt-tuning``; any other is an
eval-harness report) and returns the Markdown the report code makes of that JSON today, so a
test can compare it with the committed ``.md``. The selection goals are judged again from the
stored per-question records (their wording lives in the code). Cost: reading the JSON; the
selection goals' paired bootstraps (a second).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _selection(doc: dict[str, Any]) -> str:
    from ragengine.evaluation.experiments.selection_summary import goals
    from ragengine.evaluation.report.selection import render_markdown

    return render_markdown({**doc, "goals": goals(doc, doc["meta"]["budgets"])})


def _retrieval(doc: dict[str, Any]) -> str:
    from ragengine.evaluation.report.retrieval import markdown

    return markdown(doc)


def _crag(doc: dict[str, Any]) -> str:
    from ragengine.evaluation.report.crag import render

    return render(doc)


def _selector_tuning(doc: dict[str, Any]) -> str:
    from ragengine.evaluation.report.tuning import render_selector_tuning

    return render_selector_tuning(doc)


def _prompt_tuning(doc: dict[str, Any]) -> str:
    from ragengine.evaluation.report.tuning import render_prompt_tuning

    return render_prompt_tuning(doc)


def _harness(doc: dict[str, Any]) -> str:
    from ragengine.evaluation.report.harness import render_markdown

    return render_markdown(doc)


def _evidence(doc: dict[str, Any]) -> str:
    from ragengine.evaluation.report.evidence import render_markdown

    return render_markdown(doc)


def _perf(doc: dict[str, Any]) -> str:
    from ragengine.evaluation.report.perf import render_markdown

    return render_markdown(doc)


def _scaleout(doc: dict[str, Any]) -> str:
    from ragengine.evaluation.experiments.scaleout import render

    return render(doc)


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "perf": _perf,
    "scaleout": _scaleout,
    "selection": _selection,
    "evidence": _evidence,
    "retrieval": _retrieval,
    "crag-rewrite-cache": _crag,
    "selector-tuning": _selector_tuning,
    "prompt-tuning": _prompt_tuning,
}


def render_markdown(json_path: str | Path) -> str:
    """The Markdown of the report whose JSON is ``json_path``, as the report code makes it now."""
    path = Path(json_path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    return RENDERERS.get(path.stem, _harness)(doc)
