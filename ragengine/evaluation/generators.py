"""The eval harness's generators: the one a config names, wrapped so an identical prompt is generated once.

Temperature 0 is deterministic, so when two strategies select the same chunks at a budget the
second reuses the first's answer and its measured time and tokens. Cost: a dict lookup per
answer; the wrapped generator's cost for each distinct prompt.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ragengine.evaluation.config import EvalConfig
from ragengine.types import Generation


class CachingGenerator:
    """Wraps a generator: the same (question, contexts, max_tokens) is generated once until ``clear()``.

    ``last_ms`` is the measured time of the generation behind the last answer (also when reused),
    ``last_reused`` says whether it was reused.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.tokenizer = getattr(inner, "tokenizer", "")
        self._cache: dict[tuple[str, tuple[str, ...], int | None], tuple[Generation, float]] = {}
        self.last_ms = 0.0
        self.last_reused = False
        self.generations = 0
        self.reused = 0

    def load(self) -> Any:
        load = getattr(self.inner, "load", None)
        return load() if callable(load) else None

    def prompt_overhead(self, question: str) -> int:
        return int(self.inner.prompt_overhead(question))

    def clear(self) -> None:
        self._cache.clear()

    def generate(self, question: str, contexts: Sequence[str], *, max_tokens: int | None = None) -> Generation:
        key = (question, tuple(contexts), max_tokens)
        hit = self._cache.get(key)
        if hit is not None:
            self.reused += 1
            self.last_reused, self.last_ms = True, hit[1]
            return hit[0]
        t = time.perf_counter()
        gen = self.inner.generate(question, contexts, max_tokens=max_tokens)
        ms = (time.perf_counter() - t) * 1000
        self.generations += 1
        self._cache[key] = (gen, ms)
        self.last_reused, self.last_ms = False, ms
        return gen


def make_generator(name: str, cfg: EvalConfig) -> Any:
    """The generator a config names (``echo`` is the deterministic test fake); None for ``none``."""
    if name == "none":
        return None
    if name == "echo":
        from ragengine.testing import EchoGenerator

        return EchoGenerator()
    from ragengine.generate.base import get_generator

    opts = dict(cfg.generator_options) if name == "llm" else {}
    if name == "llm":
        opts.setdefault("max_tokens", cfg.max_new_tokens)
        opts.setdefault("seed", cfg.seed)
    return get_generator(name, **opts)
