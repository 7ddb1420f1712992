"""A build reports its progress: the callback sees every stage, and without one a log line gives rate and ETA."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ragengine import Engine
from ragengine.indexing import progress as progress_mod
from ragengine.types import Document

DOCS = [
    Document(f"d{i}", f"Document {i} talks about river {i} and city {i}. It has two sentences.", {}) for i in range(40)
]
SMALL = {"embedder": "hash-64", "tokenizer": "whitespace", "chunk_size": 16, "chunk_overlap": 0}


def test_the_callback_sees_each_stage_with_totals(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    Engine.build_index(DOCS, "t", root=tmp_path, on_progress=lambda s, d, t: seen.append((s, d, t)), **SMALL)  # type: ignore[arg-type]
    stages = [s for s, _, _ in seen]
    assert stages.index("chunking") < stages.index("embedding") < stages.index("indexing")
    final = [x for x in seen if x[0] == "embedding"][-1]
    assert final[1] == final[2] == 40


def test_without_a_callback_a_log_line_reports_rate_and_eta(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress_mod, "LOG_EVERY_S", 0.0)
    with caplog.at_level(logging.INFO, logger="ragengine.indexing"):
        Engine.build_index(DOCS * 1, "t", root=tmp_path, **SMALL)  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records if r.name == "ragengine.indexing"]
    assert any("chunks/s" in m and m.startswith("embedded 40 chunks") for m in lines)
