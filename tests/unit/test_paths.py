"""Roots resolved in one place, each from its environment variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragengine import paths


def test_roots_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAGENGINE_INDEXES", str(tmp_path / "ix"))
    monkeypatch.setenv("RAGENGINE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RAGENGINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RAGENGINE_RESULTS", str(tmp_path / "results"))
    assert paths.index_root() == tmp_path / "ix" and paths.index_root("x") == Path("x")
    assert paths.data_root() == tmp_path / "data" and paths.cache_root() == tmp_path / "cache"
    assert paths.results_root() == tmp_path / "results"
    assert paths.answer_cache_dir(tmp_path / "ix" / "demo") == tmp_path / "ix" / ".answer-cache" / "demo"
    monkeypatch.delenv("RAGENGINE_INDEXES")
    assert paths.index_root() == Path("indexes")
