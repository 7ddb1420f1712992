"""Chosen sentences laid out for the prompt: one block per document, headed by its title.

A block never mixes documents: the sentences chosen from one document are placed together, in
document order (chunk position, then sentence order), under the document's title; blocks follow
the rank of their best candidate. Each block becomes one ``Candidate`` whose metadata names the
sentences it holds, so a citation says exactly which sentences the reader saw.

``fit_layout`` joins the blocks exactly as the prompt will (``text.format_context``), re-counts
with the reader's tokenizer and drops the last-chosen sentence while a merge across a boundary
made the context longer than the budget: the budget is never exceeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ragengine.evidence.units import Units, header
from ragengine.text import format_context
from ragengine.tokens import TokenCounter
from ragengine.types import Candidate, Chunk


def blocks(
    units: Units, chosen: Sequence[int], probabilities: Sequence[float] | np.ndarray | None = None
) -> list[Candidate]:
    """The chosen sentences (indices into ``units.sentences``) as one candidate per document."""
    by_doc: dict[str, list[int]] = {}
    best: dict[str, int] = {}
    for i in chosen:
        s = units.sentences[i]
        by_doc.setdefault(s.group, []).append(i)
        best[s.group] = min(best.get(s.group, s.candidate), s.candidate)

    def place(i: int) -> tuple[int, int, int]:  # document order: chunk position, chunk, sentence
        s = units.sentences[i]
        return units.candidates[s.candidate].chunk.position, s.candidate, s.index

    out: list[Candidate] = []
    for rank, doc in enumerate(sorted(by_doc, key=lambda d: best[d])):
        order = sorted(by_doc[doc], key=place)
        parts = list(dict.fromkeys(units.sentences[i].text for i in order))
        lead = units.candidates[best[doc]]
        refs = [
            {
                "chunk_id": units.candidates[units.sentences[i].candidate].chunk.chunk_id,
                "sentence": units.sentences[i].index,
                "p": None if probabilities is None else round(float(probabilities[i]), 4),
            }
            for i in order
        ]
        text = header(units.titles[doc]) + " ".join(parts)
        chunk = Chunk(
            chunk_id=lead.chunk.chunk_id,
            doc_id=doc,
            text=text,
            n_tokens=0,
            position=lead.chunk.position,
            metadata={
                **lead.chunk.metadata,
                "granularity": "sentences",
                "title": units.titles[doc],
                "sentences": refs,
                "source_chunk_ids": sorted({r["chunk_id"] for r in refs}),
            },
        )
        out.append(Candidate(chunk, lead.score, rank, dict(lead.scores)))
    return out


def fit_layout(
    units: Units,
    chosen: Sequence[int],
    counter: TokenCounter,
    budget: int,
    probabilities: Sequence[float] | np.ndarray | None = None,
) -> tuple[list[Candidate], list[int], int]:
    """(blocks, the sentences kept, exact tokens): the layout of ``chosen`` within ``budget``."""
    kept = list(chosen)
    while True:
        out = blocks(units, kept, probabilities)
        texts = [c.chunk.text for c in out]
        exact = counter.count(format_context(texts)) if out else 0
        if exact <= budget or not kept:
            break
        kept.pop()
    out = [replace(c, chunk=replace(c.chunk, n_tokens=counter.count(c.chunk.text.strip()))) for c in out]
    return out, kept, exact
