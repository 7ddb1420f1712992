"""--include / --exclude: glob patterns over the files of a folder, by relative path or by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragengine.errors import InvalidInput
from ragengine.ingest.loaders import LoadReport, iter_documents


def _tree(root: Path) -> Path:
    for rel in ("a.md", "b.txt", "img/logo.png", "sub/c.md", "sub/deep/d.md", ".hidden/e.md"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"Text of {rel}.", encoding="utf-8") if p.suffix != ".png" else p.write_bytes(b"\x89PNG")
    return root


def _names(root: Path, **kw: object) -> list[str]:
    report = LoadReport(quiet=True)
    docs = list(iter_documents([root], report=report, **kw))  # type: ignore[arg-type]
    return sorted(Path(d.doc_id).relative_to(root).as_posix() for d in docs)


def test_include_and_exclude_filter_by_name_or_relative_path(tmp_path: Path) -> None:
    root = _tree(tmp_path / "docs")
    assert _names(root) == ["a.md", "b.txt", "sub/c.md", "sub/deep/d.md"]
    assert _names(root, include=["*.md"]) == ["a.md", "sub/c.md", "sub/deep/d.md"]
    assert _names(root, include=["*.md"], exclude=["sub/deep/*"]) == ["a.md", "sub/c.md"]
    assert _names(root, exclude=["sub/*", "b.txt"]) == ["a.md"]


def test_an_excluded_image_is_not_reported_as_skipped(tmp_path: Path) -> None:
    root = _tree(tmp_path / "docs")
    report = LoadReport(quiet=True)
    list(iter_documents([root], report=report, exclude=["img/*"]))
    assert report.skipped == []
    report = LoadReport(quiet=True)
    list(iter_documents([root], report=report))
    assert [Path(p).name for p, _ in report.skipped] == ["logo.png"]  # once, with its reason


@pytest.mark.parametrize("bad", ["", "  ", 3])
def test_bad_patterns_are_refused(tmp_path: Path, bad: object) -> None:
    with pytest.raises(InvalidInput, match="patterns must be non-empty glob strings"):
        list(iter_documents([_tree(tmp_path / "d")], include=[bad]))  # type: ignore[list-item]
