"""Answers constrained to the evidence, with the real SmolLM2 reader: every answer is copied text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ragengine.generate.copy_span import fold
from ragengine.generate.llama_cpp import LlamaCppGenerator
from tests.conftest import XQUAD

pytestmark = pytest.mark.integration


def _cases(n: int) -> list[tuple[str, str]]:
    data = json.loads(XQUAD.read_text(encoding="utf-8"))["data"]
    out = [
        (qa["question"], para["context"]) for art in data for para in art["paragraphs"][:1] for qa in para["qas"][:1]
    ]
    return out[:n]


@pytest.fixture(scope="module")
def readers() -> tuple[LlamaCppGenerator, LlamaCppGenerator]:
    try:
        free, copy = LlamaCppGenerator(reader="smollm2"), LlamaCppGenerator(reader="smollm2", copy_span=True)
        free.load()
    except Exception as e:
        pytest.skip(f"the SmolLM2 reader cannot load here: {e}")
    return free, copy


def test_every_constrained_answer_is_a_span_of_its_context(readers: tuple[LlamaCppGenerator, ...]) -> None:
    free, copy = readers
    copy._llm = free.load()  # one model in memory for both
    cases = _cases(12)
    outside = 0
    for question, context in cases:
        got = copy.generate(question, [context], max_tokens=24)
        assert got.text and fold(got.text) in fold(context), (question, got.text)
        assert got.completion_tokens <= 24
        outside += fold(free.generate(question, [context], max_tokens=24).text) not in fold(context)
    assert outside > 0  # unconstrained, the same reader does write text that is in no context


def test_the_cli_flag_reaches_the_reader(demo_index: Path) -> None:
    cmd = [sys.executable, "-m", "ragengine", "ask", str(demo_index), "When was Sky Digital launched?"]
    out = subprocess.run([*cmd, "--copy-span", "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert fold(res["answer"]) in fold(" ".join(c["text"] for c in res["citations"]))
    bad = subprocess.run([*cmd, "--copy-span", "--generator", "extractive"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--copy-span" in bad.stderr
