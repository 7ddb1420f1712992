"""`ragengine bench NAME --smoke` for every bench: exit 0 and a complete, valid report in tmp_path.

Also: building the parser (``ragengine --help``, ``ragengine ask``) imports no evaluation code but
the standard-library argument module and changes no process setting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragengine.cli import main
from ragengine.cli.offline import BENCHES
from ragengine.evaluation.rerender import render_markdown
from tests.conftest import REPO

# bench -> (its --out argument under tmp_path, the report files it writes there)
OUTPUTS = {
    "selection": ("selection", ["selection.json", "selection.md", "selection.png"]),
    "evidence": ("evidence", ["evidence.json", "evidence.md", "evidence.png"]),
    "selector-tuning": ("selector-tuning", ["selector-tuning.json", "selector-tuning.md"]),
    "retrieval": ("", ["retrieval.json", "retrieval.md", "retrieval.png"]),
    "crag-rewrite-cache": ("", ["crag-rewrite-cache.json", "crag-rewrite-cache.md", "crag-rewrite-cache.png"]),
    "foundation": ("", ["foundation.json"]),
    "perf": ("perf", ["perf.json", "perf.md", "perf.png"]),
    "scaleout": ("scaleout", ["scaleout.json", "scaleout.md"]),
}


def test_every_bench_has_a_smoke_check() -> None:
    assert set(OUTPUTS) == set(BENCHES)


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_bench_smoke_run_writes_its_report(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, files = OUTPUTS[name]
    assert main(["bench", name, "--smoke", "--out", str(tmp_path / out) if out else str(tmp_path)]) == 0
    capsys.readouterr()
    for f in files:
        path = tmp_path / f
        assert path.is_file() and path.stat().st_size > 0, f"{name} did not write {f}"
        if path.suffix == ".json":
            assert json.loads(path.read_text(encoding="utf-8"))
        if path.suffix == ".md":  # the Markdown is what the report code makes of the JSON beside it
            assert path.read_text(encoding="utf-8") == render_markdown(path.with_suffix(".json"))


def test_parsing_a_command_loads_no_offline_code() -> None:
    code = (
        "import os, sys\n"
        "from ragengine.cli import build_parser\n"
        "build_parser().parse_args(['ask', 'demo', 'a question'])\n"
        "mods = sorted(m for m in sys.modules if m.startswith(('ragengine.evaluation', 'ragengine.training')))\n"
        "print(mods, os.environ.get('OMP_WAIT_POLICY'), 'numpy' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "['ragengine.evaluation', 'ragengine.evaluation.arguments'] None False"
