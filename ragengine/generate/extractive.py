"""Extractive answers without an LLM: the context sentence most likely to hold the answer.

The contexts are stripped of markup (markdown, HTML, template tags: ``text.strip_markup``), split
into lines and sentences, and title and heading lines are skipped (evidence blocks start with their
document's title). Each remaining sentence is scored by the trained evidence scorer (the same
probability the evidence selector buys sentences by: question-term recall, answer-type cues such as
a year for "when", position and context), contexts ranked in the order given; ties go to the
earlier sentence. Costs no LLM tokens; used when no LLM is installed, and a useful floor for what
retrieval alone delivers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragengine.evidence.scorer import EvidenceScorer
from ragengine.text import strip_markup
from ragengine.types import Generation

_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def _heading(line: str) -> bool:
    """A title or heading line: markdown ``#``, or a few words without closing punctuation."""
    return line.startswith("#") or (len(line.split()) <= 8 and not line.rstrip("\"')]").endswith((".", "!", "?", ":")))


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, tokenizer: str = "", scorer: EvidenceScorer | None = None) -> None:
        # "" = count budgets with the index's tokenizer (no LLM reads this context)
        self.tokenizer = tokenizer
        self.scorer = scorer or EvidenceScorer()

    def prompt_overhead(self, question: str) -> int:
        return 0

    def generate(self, question: str, contexts: Sequence[str], *, max_tokens: int | None = None) -> Generation:
        lines = [[line.strip() for line in strip_markup(c).splitlines() if line.strip()] for c in contexts]
        passages: list[list[str]] = []
        for ls in lines:
            sents = [s.strip() for line in ls for s in _SENT.split(line) if s.strip()]
            passages.append([s for s in sents if not _heading(s)])  # a title or heading line is not an answer
        if not any(passages):  # only headings: better one of them than nothing
            passages = lines
        flat = [s for p in passages for s in p]
        if not flat:
            return Generation(text="", model=self.name)
        ranks = list(range(len(passages)))
        p = self.scorer.score(question, passages, [1.0 / (r + 1) for r in ranks], ranks)
        best = max(range(len(flat)), key=lambda i: (float(p[i]), -i))
        return Generation(text=flat[best], model=self.name)
