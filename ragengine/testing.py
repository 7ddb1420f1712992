"""Deterministic fakes for tests and examples: no model, no network, same output every run.

- ``HashEmbedder``: feature-hashed bag of words, L2-normalised (texts sharing words are close).
- ``WhitespaceCounter``: one token per whitespace-separated word.
- ``EchoGenerator``: answers with the first sentence of its context.
- ``TINY_CORPUS``: five short documents; ``make_candidates`` builds Candidates from texts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from ragengine.types import Candidate, Chunk, Generation

_WORD = re.compile(r"\w+", re.UNICODE)


class WhitespaceCounter:
    name = "whitespace"

    def encode(self, text: str) -> list[int]:
        return [int(hashlib.md5(w.encode()).hexdigest()[:6], 16) for w in text.split()]

    def count(self, text: str) -> int:
        return len(text.split())


class HashEmbedder:
    """Bag-of-words feature hashing into ``dim`` buckets; deterministic across processes."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.id = f"hash-{dim}"

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in _WORD.findall(t.lower()):
                h = int(hashlib.md5(w.encode()).hexdigest()[:8], 16)
                out[i, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


class EchoGenerator:
    """Answers with the first sentence of the first context block; spends no LLM tokens."""

    name = "echo"
    tokenizer = "whitespace"

    def __init__(self) -> None:
        self.counter = WhitespaceCounter()

    def prompt_overhead(self, question: str) -> int:
        return self.counter.count(question) + 4

    def generate(self, question: str, contexts: Sequence[str], *, max_tokens: int | None = None) -> Generation:
        if not contexts:
            return Generation(text="", model=self.name)
        first = re.split(r"(?<=[.!?])\s+", contexts[0].strip(), maxsplit=1)[0]
        return Generation(text=first, model=self.name)


TINY_CORPUS: list[tuple[str, str]] = [
    ("paris", "Paris is the capital of France. It lies on the Seine."),
    ("berlin", "Berlin is the capital of Germany. The Spree flows through it."),
    ("rome", "Rome is the capital of Italy. The Tiber crosses the city."),
    ("nile", "The Nile is a river in Africa. It flows north into the Mediterranean Sea."),
    ("everest", "Mount Everest is the highest mountain above sea level, in the Himalayas."),
]


def make_candidates(texts: Sequence[str], scores: Sequence[float] | None = None) -> list[Candidate]:
    """Candidates in the given order (rank 0 first) with word-count token sizes."""
    out = []
    for i, t in enumerate(texts):
        chunk = Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", text=t, n_tokens=len(t.split()), position=0)
        s = float(scores[i]) if scores is not None else 1.0 / (i + 1)
        out.append(Candidate(chunk=chunk, score=s, rank=i))
    return out
