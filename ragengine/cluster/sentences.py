"""Sentence tables of chunk texts: the unit that cluster summaries and query-time excerpts are made of.

Sentences are split by ``ragengine.text.sentence_spans`` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragengine.text import sentence_spans
from ragengine.tokens import TokenCounter


@dataclass(frozen=True)
class SentenceTable:
    """Every sentence of every chunk: its chunk row, character span, exact token count (and vector).

    Rows are in index order (chunk 0's sentences first), so sorting by row keeps document order.
    """

    chunk: np.ndarray  # (S,) int32 chunk row
    span: np.ndarray  # (S, 2) int32 start, end
    tokens: np.ndarray  # (S,) int32 exact tokens of the sentence alone
    vectors: np.ndarray  # (S, d) float16, L2-normalised

    def __len__(self) -> int:
        return int(self.chunk.shape[0])

    def text(self, i: int, texts: Sequence[str]) -> str:
        a, b = self.span[i]
        return texts[int(self.chunk[i])][int(a) : int(b)]


def split_chunks(texts: Sequence[str], counter: TokenCounter) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Sentence rows, spans, token counts and texts for ``texts`` (the chunk texts in index order)."""
    rows: list[int] = []
    spans: list[tuple[int, int]] = []
    sents: list[str] = []
    for r, t in enumerate(texts):
        for a, b in sentence_spans(t):
            rows.append(r)
            spans.append((a, b))
            sents.append(t[a:b])
    tokens = np.asarray([max(1, counter.count(s)) for s in sents], dtype=np.int32)
    return (
        np.asarray(rows, dtype=np.int32),
        np.asarray(spans, dtype=np.int32).reshape(-1, 2),
        tokens,
        sents,
    )


def join_sentences(sentences: Sequence[str]) -> str:
    """Sentences as they are placed in a prompt block: one space between them."""
    return " ".join(s.strip() for s in sentences)


def pack_text(
    order: Sequence[int],
    table: SentenceTable,
    texts: Sequence[str],
    counter: TokenCounter,
    cap: int,
    *,
    redundancy: float = 0.9,
    skip: set[int] | None = None,
    first_cap: int | None = None,
    keys: Mapping[int, str] | None = None,
) -> tuple[list[int], str, int]:
    """Sentence ids taken from ``order`` (best first) while the joined text fits ``cap`` tokens,
    with the joined text and its exact token count: ``(ids, text, n_tokens)``.

    A sentence whose text was already taken (overlapping chunks repeat sentences) or whose vector
    has cosine above ``redundancy`` to a taken one is skipped. Sentence token counts are summed
    plus one for each joining space, then the joined text is counted exactly (once) and trimmed
    if a merge across a boundary made it longer, so the result never exceeds ``cap``. With
    ``first_cap`` (> cap), the first sentence taken may be that long and then fills the pack alone
    (a long, highly ranked sentence is not skipped); the limit is then ``first_cap``. ``keys``
    (sentence id -> normalised text) saves recomputing texts across calls. Ids are in document order.
    """
    taken: list[int] = []
    seen: set[str] = set()
    used = 0
    skip = skip or set()
    smallest = int(table.tokens.min()) if len(table) else 1
    for i in order:
        if cap - used <= smallest:
            break
        if i in skip:
            continue
        key = keys[i] if keys is not None else " ".join(table.text(i, texts).lower().split())
        if key in seen:
            continue
        cost = int(table.tokens[i]) + (1 if taken else 0)
        if used + cost > cap:
            if taken or first_cap is None or cost > first_cap:
                continue
            cap = first_cap
            taken.append(i)
            break
        if taken:
            v = table.vectors[taken].astype(np.float32) @ table.vectors[i].astype(np.float32)
            if float(v.max()) > redundancy:
                continue
        taken.append(i)
        seen.add(key)
        used += cost
    taken.sort(key=lambda i: (int(table.chunk[i]), int(table.span[i][0])))
    while taken:
        text = join_sentences([table.text(i, texts) for i in taken])
        n = counter.count(text)
        if n <= cap:
            return taken, text, n
        taken.pop()
    return [], "", 0


def pack_sentences(
    order: Sequence[int],
    table: SentenceTable,
    texts: Sequence[str],
    counter: TokenCounter,
    cap: int,
    **options: Any,
) -> list[int]:
    """The sentence ids of ``pack_text`` (same arguments)."""
    return pack_text(order, table, texts, counter, cap, **options)[0]
