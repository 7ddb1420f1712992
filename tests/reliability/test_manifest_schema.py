"""A damaged manifest is a one-line IndexCorrupted naming the problem, never a traceback or a silent pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ragengine import Engine
from ragengine.errors import IndexCorrupted

pytestmark = pytest.mark.reliability


def _edit(index: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = index / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


CASES: dict[str, Callable[[dict[str, Any]], None]] = {
    "files is a number": lambda d: d.update(files=5),
    "files is empty": lambda d: d.update(files={}),
    "files lacks the chunks": lambda d: d["files"].pop("chunks.jsonl"),
    "a checksum is not hex": lambda d: d["files"].update({"chunks.jsonl": "zz"}),
    "format version is a string": lambda d: d.update(format_version="1"),
    "dim is a list": lambda d: d.update(dim=[384]),
    "an unknown field": lambda d: d.update(extra=1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_manifest_is_index_corrupted(tiny_index: Path, case: str) -> None:
    _edit(tiny_index, CASES[case])
    with pytest.raises(IndexCorrupted, match="not a valid manifest"):
        Engine.from_index(tiny_index)


def test_a_flipped_byte_is_index_corrupted(tiny_index: Path) -> None:
    path = tiny_index / "manifest.json"
    raw = bytearray(path.read_bytes())
    raw[10] = 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IndexCorrupted, match="not a valid manifest"):
        Engine.from_index(tiny_index)
