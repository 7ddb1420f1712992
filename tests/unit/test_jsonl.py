"""The one JSON Lines reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragengine.jsonl import iter_json_lines


def test_json_lines_skip_blanks_and_raise_the_callers_error(tmp_path: Path) -> None:
    p = tmp_path / "q.jsonl"
    p.write_text('{"a": 1}\n\n{"a": 2}\n{oops\n', encoding="utf-8")
    rows = iter_json_lines(p, lambda n, msg: ValueError(f"line {n}: {msg}"))
    assert next(rows) == (1, {"a": 1}) and next(rows) == (3, {"a": 2})
    with pytest.raises(ValueError, match="line 4: Expecting property name"):
        next(rows)
