"""The shape of the code: small modules, no code in eval/ (configs and reports only)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIMIT = 400


def test_no_source_file_is_over_400_lines() -> None:
    long = {}
    for folder in ("ragengine", "ui", "eval"):
        for path in (REPO / folder).rglob("*.py"):
            if path.is_symlink():
                continue
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > LIMIT:
                long[str(path.relative_to(REPO))] = n
    assert long == {}, f"split these into smaller modules (limit {LIMIT} lines): {long}"


def test_eval_holds_data_not_code() -> None:
    code = sorted(str(p.relative_to(REPO)) for p in (REPO / "eval").rglob("*.py"))
    assert code == [], f"move these into ragengine/evaluation: {code}"
