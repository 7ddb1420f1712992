"""The generator stage and its registry.

Backends: ``llm`` (local llama.cpp, SmolLM2-135M-Instruct), ``openai`` (any OpenAI-compatible
server), ``extractive`` (best-matching sentence, no LLM), ``none`` (dry run: select only).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any, Protocol

from ragengine.config import GENERATORS
from ragengine.errors import InvalidInput
from ragengine.types import Generation


class Generator(Protocol):
    """``tokenizer`` names the token counter budgets are measured in for this generator."""

    name: str
    tokenizer: str

    def generate(self, question: str, contexts: Sequence[str], *, max_tokens: int | None = None) -> Generation: ...

    def prompt_overhead(self, question: str) -> int:
        """Tokens the prompt costs besides the context (template, instruction, question)."""
        ...


def llm_available() -> bool:
    """llama.cpp and at least one reader (``ragengine.readers``) are installed."""
    from ragengine.readers import default_reader, installed

    reader = default_reader()
    return importlib.util.find_spec("llama_cpp") is not None and reader is not None and installed(reader)


def default_generator_name() -> str:
    """``llm`` when llama.cpp and a reader are installed, else ``extractive``."""
    return "llm" if llm_available() else "extractive"


def get_generator(name: str, **options: Any) -> Generator | None:
    """A generator by name; ``none`` returns None (the pipeline then selects without generating)."""
    if name == "llm":
        from ragengine.generate.llama_cpp import LlamaCppGenerator

        return LlamaCppGenerator(**options)
    if name == "openai":
        from ragengine.generate.openai_http import OpenAIGenerator

        return OpenAIGenerator(**options)
    if name == "extractive":
        from ragengine.generate.extractive import ExtractiveGenerator

        return ExtractiveGenerator(**options)
    if name == "none":
        return None
    raise InvalidInput(f"unknown generator {name!r}; choose one of {', '.join(GENERATORS)}")
