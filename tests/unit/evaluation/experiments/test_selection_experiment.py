"""The selection benchmark end to end on the tiny fake index (hash embedder, whitespace tokenizer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragengine import Engine
from ragengine.errors import InvalidInput
from ragengine.evaluation.datasets import QAExample
from ragengine.evaluation.experiments import selection as sb
from tests.conftest import tiny_docs

STRATEGIES, BUDGETS = ("greedy", "mcts"), (12, 32)

QA = [
    QAExample("q1", "What is the capital of France?", ["Paris"], ["paris"]),
    QAExample("q2", "Which river flows through Berlin?", ["Spree"], ["berlin"]),
    QAExample("q3", "Where is Mount Everest?", ["Himalayas"], ["everest"]),
]
MULTI = [
    QAExample("m1", "Which capitals lie on the Seine and the Tiber?", ["Paris and Rome"], ["paris", "rome"]),
    QAExample("m2", "Is the Nile longer than the Spree in Berlin?", ["yes"], ["nile", "berlin"]),
]


@pytest.fixture
def results(tiny_index: Path) -> dict:
    engine = Engine.from_index(tiny_index, generator="none")
    sets = {
        "tiny-qa": sb.bench_dataset("tiny-qa", sb.ANSWER, engine, QA, STRATEGIES, BUDGETS, resamples=200),
        "tiny-hops": sb.bench_dataset("tiny-hops", sb.SUPPORT, engine, MULTI, STRATEGIES, BUDGETS, resamples=200),
    }
    meta = {"command": "test", "date": "today", "machine": "test", "load_start": "0", "load_end": "0", "candidates": 30}
    return sb.finish(sets, STRATEGIES, BUDGETS, meta)


def test_outputs_are_written_and_consistent(results: dict, tmp_path: Path) -> None:
    paths = sb.write_outputs(results, tmp_path / "out" / "selection")
    js, md, png = paths
    assert js.is_file() and md.is_file() and png.stat().st_size > 10_000
    data = json.loads(js.read_text())
    for name, n in (("tiny-qa", 3), ("tiny-hops", 2)):
        d = data["datasets"][name]
        assert d["id_check"]["found"] == d["id_check"]["gold_ids"] > 0
        assert d["summary"]["n"] == n == len(d["records"]["ids"])
        for s in STRATEGIES:
            for b in BUDGETS:
                row = d["summary"]["table"][s][str(b)]
                col = d["records"]["settings"][f"{s}@{b}"]
                assert 0.0 <= row["lo"] <= row["recall"] <= row["hi"] <= 1.0
                assert row["recall"] == pytest.approx(sum(col["hit"]) / n)
                assert all(0 <= t <= b for t in col["tokens"]) and row["tokens_max"] <= b
                assert all(0.0 <= r <= 1.0 for r in col["reward"]) and all(ms >= 0 for ms in col["ms"])
        for b in BUDGETS:  # the oracle is a ceiling for every selector on the same candidates
            oracle = d["summary"]["oracle"][str(b)]
            assert all(d["summary"]["table"][s][str(b)]["recall"] <= oracle + 1e-9 for s in STRATEGIES)
        assert set(d["records"]["mcts"]) == {str(b) for b in BUDGETS}
        assert d["records"]["rerun_mismatch"] == 0  # same input, same selection
        assert "mcts-vs-greedy@12" in d["summary"]["paired"] and "mcts@12-vs-greedy@32" in d["summary"]["paired"]
    text = md.read_text()
    assert "## tiny-qa (3 questions" in text and "## Goals" in text and "| mcts |" in text
    assert "MCTS selector p50 < 30 ms" in text


def test_a_larger_budget_never_scores_lower_for_greedy_on_the_tiny_set(results: dict) -> None:
    for d in results["datasets"].values():
        small, large = d["records"]["settings"]["greedy@12"]["hit"], d["records"]["settings"]["greedy@32"]["hit"]
        assert all(h2 >= h1 for h1, h2 in zip(small, large, strict=True))
    qa = results["datasets"]["tiny-qa"]["summary"]["table"]
    assert qa["greedy"]["32"]["recall"] == 1.0  # two tiny docs fit in 32 whitespace tokens


def test_goals_are_stated_for_each_kind(tiny_index: Path) -> None:
    engine = Engine.from_index(tiny_index, generator="none")
    sets = {
        "qa": sb.bench_dataset("qa", sb.ANSWER, engine, QA, ("greedy", "dos", "mcts"), (256, 512), resamples=50),
        "hops": sb.bench_dataset(
            "hops", sb.SUPPORT, engine, MULTI, ("greedy", "dos", "mcts"), (256, 512), resamples=50
        ),
    }
    res = sb.finish(sets, ("greedy", "dos", "mcts"), (256, 512), {})
    names = [g["goal"] for g in res["goals"]]
    assert "qa: MCTS recall at 256 >= greedy recall at 512" in names
    assert any("hops@256: MCTS beats every baseline" in n for n in names)
    assert any("hops@512: MCTS beats every baseline" in n for n in names)
    assert all(isinstance(g["met"], bool) for g in res["goals"])


def test_spread_is_deterministic_and_even() -> None:
    assert sb.spread(list(range(10)), 3) == [0, 3, 6]
    assert sb.spread(list(range(5)), 10) == list(range(5))
    assert sb.spread(list(range(5)), None) == list(range(5))
    with pytest.raises(InvalidInput, match="questions must be a positive number, got 0"):
        sb.spread(list(range(5)), 0)


def test_unknown_kind_is_rejected(tiny_index: Path) -> None:
    engine = Engine.from_index(tiny_index, generator="none")
    with pytest.raises(InvalidInput, match="kind must be 'answer' or 'support', got 'f1'"):
        sb.evaluate(engine, QA, "f1", STRATEGIES, BUDGETS)


def test_ensure_index_builds_once_then_reuses(tmp_path: Path) -> None:
    opts = {"embedder": "hash-64", "tokenizer": "whitespace", "chunk_size": 16, "chunk_overlap": 0}
    folder = sb.ensure_index(tiny_docs(), "bench-tiny", tmp_path, **opts)
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    assert sb.ensure_index(tiny_docs(), "bench-tiny", tmp_path, **opts) == folder
    assert (folder / "manifest.json").stat().st_mtime_ns == stamp
    sb.ensure_index(tiny_docs()[:4], "bench-tiny", tmp_path, **opts)  # another corpus: rebuilt
    assert Engine.from_index(folder, generator="none").manifest.n_documents == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--budgets", "0", "256"], "budgets must be positive"),
        (["--mcts-options", "[1]"], "--mcts-options must be a JSON object"),
        (["--strategies", "best"], "invalid choice: 'best'"),
    ],
)
def test_command_line_rejects_bad_arguments(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        sb.main(argv)
    assert message in capsys.readouterr().err
