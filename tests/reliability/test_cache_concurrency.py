"""The answer cache shared by threads and by processes: no exception, no lost entry; a cache that
cannot be written degrades to memory and the answer is still returned."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ragengine import Engine, EngineConfig
from ragengine.cache import SemanticCache
from ragengine.testing import EchoGenerator, HashEmbedder

pytestmark = pytest.mark.reliability
QUESTIONS = [f"Which river flows past city number {i}?" for i in range(80)]


def _engine(index: Path, cache_dir: Path) -> Engine:
    config = EngineConfig(cache=True, cache_dir=str(cache_dir))
    return Engine.from_index(index, generator=EchoGenerator(), config=config)


def _stored(index: Path, cache_dir: Path) -> set[str]:
    version = _engine(index, cache_dir).manifest.version
    return {e.question for e in SemanticCache(cache_dir, version, HashEmbedder(64)).entries}


def test_four_threads_on_one_engine_lose_nothing(tiny_index: Path, tmp_path: Path) -> None:
    eng = _engine(tiny_index, tmp_path / "cache")
    mine = [QUESTIONS[t * 20 : (t + 1) * 20] for t in range(4)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda qs: [eng.ask(q, 30).text for q in qs], mine))
    assert all(a for batch in answers for a in batch)
    assert _stored(tiny_index, tmp_path / "cache") == set(QUESTIONS)


def test_two_processes_on_one_cache_folder_lose_nothing(tiny_index: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from ragengine import Engine, EngineConfig
        from ragengine.testing import EchoGenerator
        index, cache, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
        eng = Engine.from_index(index, generator=EchoGenerator(), config=EngineConfig(cache=True, cache_dir=cache))
        for i in range(start, start + 20):
            assert eng.ask(f"Which river flows past city number {i}?", 30).text
        """
    )
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tiny_index), str(cache), str(s)], env=env, stderr=subprocess.PIPE
        )
        for s in (0, 20)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    assert _stored(tiny_index, cache) == set(QUESTIONS[:40])


def test_a_cache_that_cannot_be_written_still_answers(
    tiny_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    eng = _engine(tiny_index, tmp_path / "cache")
    monkeypatch.setattr("ragengine.cache.semantic.os.replace", full_disk)
    with caplog.at_level(logging.WARNING, logger="ragengine.cache.semantic"):
        first = eng.ask("What is the capital of Italy?", 30)
        again = eng.ask("What is the capital of Italy?", 30)
        other = eng.ask("Where is the Nile?", 30)
    assert first.text.endswith("Rome is the capital of Italy.") and first.trace["path"] == "retrieve"
    assert again.trace["path"] == "cache" and again.text == first.text  # served from memory
    assert other.text
    warnings = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(warnings) == 1 and "No space left" in warnings[0].getMessage()
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "cache").iterdir())  # nothing half-written
