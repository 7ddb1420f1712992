"""Query rewriting: ``none``, ``prf`` (RM3 pseudo-relevance feedback, no LLM) and ``llm``
(Query Rewriter+: variants and search queries from one generator call), and RRF fusion of the
candidates retrieved for every rewrite (``fuse_retrievals``).

>>> get_rewriter("none").rewrite("Who wrote Hamlet?").queries
('Who wrote Hamlet?',)
"""

from __future__ import annotations

from typing import Any

from ragengine.errors import InvalidInput
from ragengine.retrieve.fusion import fuse_retrievals
from ragengine.rewrite.base import REWRITE_MODES, NoRewriter, Rewrite, Rewriter
from ragengine.rewrite.chat import ChatModel, ChatReply, chat_complete
from ragengine.rewrite.llm import LLMRewriter, parse_reply
from ragengine.rewrite.prf import PRFRewriter


def get_rewriter(mode: str, *, index: Any = None, generator: Any = None, **options: Any) -> Rewriter:
    """The rewriter for ``--rewrite MODE``: ``prf`` needs the index (a ChunkStore), ``llm`` the generator."""
    if mode == "none":
        return NoRewriter()
    if mode == "prf":
        if index is None:
            raise InvalidInput("the prf rewriter needs the loaded index (its BM25 and chunks)")
        return PRFRewriter(index, **options)
    if mode == "llm":
        return LLMRewriter(generator, **options)
    raise InvalidInput(f"unknown rewrite mode {mode!r}; choose one of {', '.join(REWRITE_MODES)}")


__all__ = [
    "REWRITE_MODES",
    "ChatModel",
    "ChatReply",
    "LLMRewriter",
    "NoRewriter",
    "PRFRewriter",
    "Rewrite",
    "Rewriter",
    "chat_complete",
    "fuse_retrievals",
    "get_rewriter",
    "parse_reply",
]
