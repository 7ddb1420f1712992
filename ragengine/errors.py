"""Typed, actionable errors: each says what was wrong, the value, and how to fix it."""

from __future__ import annotations


class RagEngineError(Exception):
    """Base class of every error ragengine raises on purpose."""


class InvalidInput(RagEngineError, ValueError):
    """A caller passed a value the engine cannot use (empty question, budget <= 0, ...)."""


class MissingDependency(RagEngineError, ImportError):
    """An optional backend was chosen but its extra is not installed; the message names the pip command."""

    def __init__(self, what: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{what} needs an optional dependency: pip install 'ragengine[{extra}]'")


class IndexNotFound(RagEngineError, FileNotFoundError):
    """No index of that name or path exists."""


class IndexMismatch(RagEngineError):
    """The index was built with another embedder, tokenizer or format than the one asked for."""


class IndexCorrupted(RagEngineError):
    """An index file is missing or its checksum does not match the manifest."""


class IndexWriteFailed(RagEngineError, OSError):
    """An index could not be written (read-only folder, full disk, another writer); the old one still serves."""


class EmptyCorpus(RagEngineError, ValueError):
    """The input held no text that could be indexed."""


class GenerationError(RagEngineError):
    """The generator backend failed (server unreachable, malformed reply)."""


class IndexChanged(RagEngineError):
    """The version an open index was reading was replaced and removed meanwhile: reopen it."""
