"""Pseudo-relevance feedback (RM3-style) query expansion from the top BM25 hits; no LLM tokens.

The top ``fb_docs`` BM25 hits of the question are taken as relevant. Each candidate term w gets
``P(w|R) = sum_d p(d) * tf(w, d) / |d|`` with ``p(d)`` the hit's BM25 score normalised over the
feedback set (RM1, Lavrenko & Croft 2001), multiplied by ``idf(w)`` over the whole index so that
words common everywhere do not win. The ``fb_terms`` best terms that are not already in the
question (compared after stemming) form the expansion; their weights are normalised to
``1 - orig_weight`` (RM3's interpolation with the original query, whose terms carry
``orig_weight``). The expanded query string is the question followed by the expansion terms;
the weights are reported in the trace. Cost: one BM25 search plus O(feedback words); the
document frequencies are counted once per index, on first use.

>>> # PRFRewriter(index).rewrite("Who designed the Eiffel tower?").queries  # doctest: +SKIP
>>> # ('Who designed the Eiffel tower?', 'Who designed the Eiffel tower? gustave paris iron ...')
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from ragengine.errors import InvalidInput
from ragengine.index.base import ChunkStore
from ragengine.rewrite.base import Rewrite
from ragengine.text import STOPWORDS

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
EXTRA_STOP = frozenset(
    """also about after all any been before being both could during each few first further here however
    its just many more most much now off once one only other over own same should since some such
    through two under until very while who whose within without would yet""".split()
)


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and w not in EXTRA_STOP]


class PRFRewriter:
    """``rewrite(question)`` -> the question and one RM3-expanded query; spends no LLM tokens."""

    name = "prf"

    def __init__(self, index: ChunkStore, *, fb_docs: int = 5, fb_terms: int = 8, orig_weight: float = 0.5) -> None:
        for nm, v in (("fb_docs", fb_docs), ("fb_terms", fb_terms)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise InvalidInput(f"{nm} must be a positive int, got {v!r}")
        if isinstance(orig_weight, bool) or not isinstance(orig_weight, int | float) or not 0 < orig_weight < 1:
            raise InvalidInput(f"orig_weight must be in (0, 1) (RM3 usually 0.5), got {orig_weight!r}")
        self.index = index
        self.fb_docs, self.fb_terms, self.orig_weight = fb_docs, fb_terms, float(orig_weight)
        self._df: Counter[str] | None = None
        self._stem: Any = index.stemmer

    def _stemmed(self, w: str) -> str:
        return str(self._stem.stemWord(w)) if self._stem is not None else w

    def _idf(self, w: str) -> float:
        if self._df is None:
            df: Counter[str] = Counter()
            for c in self.index.chunks:
                df.update(set(_words(c.text)))
            self._df = df
        n = len(self.index.chunks)
        return math.log(1.0 + (n - self._df.get(w, 0) + 0.5) / (self._df.get(w, 0) + 0.5))

    def expansion(self, question: str) -> dict[str, float]:
        """Expansion terms and their RM3 weights (summing to ``1 - orig_weight``), best first."""
        ids, scores = self.index.lexical_search(question, self.fb_docs)
        if ids.size == 0:
            return {}
        total = float(scores.sum()) or 1.0
        q_stems = {self._stemmed(w) for w in _WORD.findall(question.lower())}
        rel: dict[str, float] = {}
        for i, s in zip(ids.tolist(), scores.tolist(), strict=True):
            words = _words(self.index.chunks[i].text)
            if not words:
                continue
            for w, tf in Counter(words).items():
                rel[w] = rel.get(w, 0.0) + (s / total) * tf / len(words)
        stems_seen: set[str] = set()
        ranked = []
        for w, p in sorted(rel.items(), key=lambda kv: (-kv[1] * self._idf(kv[0]), kv[0])):
            st = self._stemmed(w)
            if st in q_stems or st in stems_seen:
                continue
            stems_seen.add(st)
            ranked.append((w, p * self._idf(w)))
            if len(ranked) == self.fb_terms:
                break
        z = sum(p for _, p in ranked) or 1.0
        return {w: (1.0 - self.orig_weight) * p / z for w, p in ranked}

    def rewrite(self, question: str) -> Rewrite:
        terms = self.expansion(question)
        if not terms:
            return Rewrite(question, (question,), "prf", fallback="no BM25 hits to expand from")
        expanded = f"{question} {' '.join(terms)}"
        return Rewrite(question, (question, expanded), "prf", search_queries=(expanded,), expansion=terms)
