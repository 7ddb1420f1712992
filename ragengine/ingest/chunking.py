"""Split Documents into Chunks measured in the generator's tokens (llama-index SentenceSplitter).

Chunk size and overlap are in tokens of the same tokenizer the budget uses, so a chunk's
``n_tokens`` is exact. Chunk ids are stable: a hash of the document id plus the chunk's
position in that document, so re-indexing the same corpus gives the same ids.

Cost: one tokenizer pass per sentence piece; about 2,000 chunks/s with the SmolLM2 tokenizer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from ragengine.errors import InvalidInput
from ragengine.text import plain_text
from ragengine.tokens import TokenCounter
from ragengine.types import Chunk, Document


def chunk_id_for(doc_id: str, position: int) -> str:
    return f"{hashlib.sha1(doc_id.encode('utf-8')).hexdigest()[:12]}-{position:05d}"


class Chunker:
    """Sentence-aware chunking of about ``chunk_size`` tokens with ``chunk_overlap`` tokens of overlap."""

    def __init__(self, counter: TokenCounter, chunk_size: int = 128, chunk_overlap: int = 16) -> None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 16:
            raise InvalidInput(f"chunk_size must be an int >= 16 tokens, got {chunk_size!r}")
        if not isinstance(chunk_overlap, int) or chunk_overlap < 0 or chunk_overlap >= chunk_size:
            raise InvalidInput(f"chunk_overlap must be in [0, chunk_size), got {chunk_overlap!r} for {chunk_size}")
        self.counter = counter
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._splitter: Any = None

    def _split(self, text: str) -> list[str]:
        if self._splitter is None:
            from llama_index.core.node_parser import SentenceSplitter

            self._splitter = SentenceSplitter(
                chunk_size=self.chunk_size,
                chunk_overlap=self.chunk_overlap,
                tokenizer=self.counter.encode,
                paragraph_separator="\n\n",
            )
        return [t for t in self._splitter.split_text(text) if t.strip()]

    def chunks(self, docs: Iterable[Document], positions: dict[str, int] | None = None) -> Iterator[Chunk]:
        """Chunks in document order. Parts of a streamed document continue its positions.

        ``positions`` (doc id -> next position) carries positions across calls: a caller chunking
        one document at a time passes the same dict each time, so ids match one whole-stream call.
        """
        positions = {} if positions is None else positions
        for doc in docs:
            if not doc.text.strip():
                continue
            for piece in self._split(plain_text(doc.text)):  # control tokens stay text
                pos = positions.get(doc.doc_id, 0)
                positions[doc.doc_id] = pos + 1
                meta = {k: v for k, v in doc.metadata.items() if isinstance(v, str | int | float | bool)}
                yield Chunk(
                    chunk_id=chunk_id_for(doc.doc_id, pos),
                    doc_id=doc.doc_id,
                    text=piece,
                    n_tokens=self.counter.count(piece),
                    position=pos,
                    metadata=meta,
                )

    def params(self) -> dict[str, Any]:
        return {
            "splitter": "llama_index.SentenceSplitter",
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "tokenizer": self.counter.name,
        }
