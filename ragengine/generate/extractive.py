"""Extractive answers without an LLM: the context sentence that best matches the question.

The contexts are split into lines and sentences; title and heading lines are skipped (evidence
blocks start with their document's title). Sentences are scored by the summed inverse frequency
(within the context) of the question's content words they contain, ties to the earlier sentence.
Costs no LLM tokens; used when no LLM is installed, and a useful floor for what retrieval alone
delivers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ragengine.text import content_words
from ragengine.types import Generation

_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def _heading(line: str) -> bool:
    """A title or heading line: markdown ``#``, or a few words without closing punctuation."""
    return line.startswith("#") or (len(line.split()) <= 8 and not line.rstrip("\"')]").endswith((".", "!", "?", ":")))


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, tokenizer: str = "") -> None:
        # "" = count budgets with the index's tokenizer (no LLM reads this context)
        self.tokenizer = tokenizer

    def prompt_overhead(self, question: str) -> int:
        return 0

    def generate(self, question: str, contexts: Sequence[str], *, max_tokens: int | None = None) -> Generation:
        lines = [line.strip() for c in contexts for line in c.splitlines() if line.strip()]
        sentences = [s.strip() for line in lines for s in _SENT.split(line) if s.strip()]
        prose = [s for s in sentences if not _heading(s)]  # a title or heading line is not an answer
        sentences = prose or sentences
        if not sentences:
            return Generation(text="", model=self.name)
        q = set(content_words(question))
        sets = [set(content_words(s)) for s in sentences]
        df = {w: sum(1 for s in sets if w in s) for w in q}
        n = len(sentences)

        def score(i: int) -> float:
            return sum(math.log(1 + n / df[w]) for w in q & sets[i] if df[w])

        best = max(range(n), key=lambda i: (score(i), -i))
        return Generation(text=sentences[best], model=self.name)
