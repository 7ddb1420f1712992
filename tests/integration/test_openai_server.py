"""The OpenAI-compatible backend against llama-cpp-python's own server, started here on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragengine import Budget, Engine
from ragengine.errors import GenerationError, InvalidInput
from ragengine.generate.openai_http import OpenAIGenerator
from ragengine.tokens import smollm2_gguf_path

pytestmark = pytest.mark.integration
pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm2_gguf_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
            "--model_alias",
            "smollm2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start within 60 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_openai_backend_answers_with_exact_usage(server: str, demo_index: Path) -> None:
    gen = OpenAIGenerator(base_url=server, model="smollm2", tokenizer="smollm2-135m-instruct", timeout_s=600)
    eng = Engine.from_index(demo_index, generator=gen)
    ans = eng.ask("When was Sky Digital launched?", Budget(context_tokens=200))
    stage = ans.cost.stages["generate"]
    assert ans.text.strip()
    assert stage.llm_calls == 1 and stage.tokens_in > ans.cost.context_tokens > 0 and stage.tokens_out > 0
    assert ans.cost.context_tokens <= 200


def test_unreachable_server_is_a_clear_error() -> None:
    gen = OpenAIGenerator(base_url=f"http://127.0.0.1:{_free_port()}/v1", model="x", timeout_s=2)
    with pytest.raises(GenerationError, match="cannot reach"):
        gen.generate("q?", ["ctx"])


def test_base_url_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGENGINE_OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(InvalidInput, match="needs a base URL"):
        OpenAIGenerator()
