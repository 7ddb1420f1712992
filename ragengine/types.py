"""The dataclasses every stage takes and returns. Stages never pass dicts to each other."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ragengine.budget import Budget, Ledger


@dataclass(frozen=True)
class Document:
    """A source document (or one streamed part of a large one) before chunking."""

    doc_id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A unit of selection: a span of one document, with its token count in the generator's tokenizer."""

    chunk_id: str
    doc_id: str
    text: str
    n_tokens: int
    position: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Candidate:
    """A retrieved chunk with its fused score and the per-retriever evidence behind it."""

    chunk: Chunk
    score: float
    rank: int
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Selection:
    """What a selector chose, in prompt order, and why (a reason when nothing fits)."""

    chosen: tuple[Candidate, ...]
    context_tokens: int
    budget_tokens: int
    strategy: str
    reason: str = ""
    dropped: dict[str, str] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Generation:
    """A generator's reply and the tokens it actually spent, counted by the backend."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    model: str = ""


def cited_documents(doc_id: str, metadata: dict[str, Any]) -> list[str]:
    """The documents a cited text came from: ``metadata["source_doc_ids"]`` if set, else ``[doc_id]``."""
    src = metadata.get("source_doc_ids")
    return [str(d) for d in src] if isinstance(src, list) and src else [doc_id]


@dataclass(frozen=True)
class Citation:
    """A chunk the answer was given, with its source document."""

    chunk_id: str
    doc_id: str
    text: str
    n_tokens: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_chunk(cls, chunk: Chunk) -> Citation:
        return cls(chunk.chunk_id, chunk.doc_id, chunk.text, chunk.n_tokens, dict(chunk.metadata))

    @property
    def sources(self) -> list[str]:
        """The documents whose text this citation holds (a cluster excerpt or summary names several)."""
        return cited_documents(self.doc_id, self.metadata)

    @property
    def granularity(self) -> str:
        """``chunk``, or a CRAG granularity: ``excerpt``, ``member``, ``summary``."""
        return str(self.metadata.get("granularity", "chunk"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """The engine's reply: text, the chunks it was given, what it cost, and how it got there."""

    text: str
    citations: list[Citation]
    cost: Ledger
    trace: dict[str, Any] = field(default_factory=dict)
    budget: Budget | None = None
    question: str = ""

    @property
    def ledger(self) -> Ledger:
        return self.cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "budget": self.budget.to_dict() if self.budget else None,
            "cost": self.cost.to_dict(),
            "trace": self.trace,
        }


@dataclass(frozen=True)
class Retrieved:
    """A retriever's candidates (best first) and the query embedding, when one was computed."""

    candidates: list[Candidate]
    query_vector: Any = None
    stats: dict[str, Any] = field(default_factory=dict)
