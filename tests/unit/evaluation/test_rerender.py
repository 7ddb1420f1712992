"""Every committed report under eval/results/ is what today's report code makes of its JSON."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from ragengine.evaluation.rerender import render_markdown
from tests.conftest import REPO

RESULTS = REPO / "eval" / "results"
# Reports whose committed Markdown carries hand-written additions (a run note, a comparison with
# another run) on top of the generated text: every generated line is there, in order, and nothing
# generated was changed or dropped.
ANNOTATED = {"squad-accuracy-per-token", "squad-crag-low-budget"}


def _reports() -> list[Path]:
    return sorted(RESULTS.glob("*.md"))


def test_there_are_committed_reports() -> None:
    assert {p.stem for p in _reports()} >= {"selection", "retrieval", "crag-rewrite-cache"}


@pytest.mark.parametrize("md", _reports(), ids=lambda p: p.stem)
def test_committed_markdown_is_regenerated_from_its_json(md: Path) -> None:
    committed = md.read_text(encoding="utf-8")
    made = render_markdown(md.with_suffix(".json"))
    if md.stem not in ANNOTATED:
        assert made == committed
        return
    ops = difflib.SequenceMatcher(None, committed.splitlines(), made.splitlines(), autojunk=False).get_opcodes()
    assert [op for op in ops if op[0] not in ("equal", "delete")] == []
    assert any(op[0] == "delete" for op in ops)  # the hand-written part is still there: else drop it from ANNOTATED
