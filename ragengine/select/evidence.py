"""Evidence selection: sentences chosen for the probability that the context answers the question.

The candidates are split into sentences (``evidence.units``) and scored by the trained evidence
scorer. The value of a set S of sentences is a noisy-or, ``1 - prod(1 - p_s)``: the chance that
at least one of them holds the answer. For questions that need two documents, a sentence that
names another candidate document's title *bridges* to it: once chosen, that document's sentences
count as more likely (``bridge``). Redundancy is discounted: a sentence that repeats the words of
one already chosen adds less. Costs are exact tokens, and a document's title line is paid once,
by its first sentence.

Modes (``mode``):
- ``gain`` (default): greedy by marginal value per ``tokens ** length_power`` among the sentences
  that still fit (1: most value per token; 0, the default: most value per sentence, which measured
  better on the SQuAD tune split and on HotpotQA/MuSiQue), with an adaptive stop: when the best
  next sentence would add less than ``min_gain``, selection ends below the budget and the
  trace says how many tokens that saved. ``stats["sufficient"]`` says whether the chosen set's
  value reached ``sufficient`` (the reader's abstention signal).
- ``rank``: sentences by probability, highest first, while they fit (rank-and-truncate, after
  LongLLMLingua's coarse ranking).
- ``prune``: sentences above the scorer's threshold, in retrieval order, truncated at the budget
  (after Provence's pruning: no budgeted search).

Long sentences (``unit_share``, default 0.75): a sentence that would take more than that share of
the budget is offered as its clauses instead (``evidence.units.clauses``), so a small budget can buy
the clause that holds the answer rather than nothing or one long sentence. On SQuAD articles 19-24
(tune split) this raised gold-in-context at 64 tokens from 0.709 to 0.826 and at 128 from 0.903 to
0.912, with no change at 192-256 (shares 0.33 / 0.5 / 1.0 measured 0.774-0.801 / 0.894-0.913 / 0.757-0.903).
``None`` offers whole sentences only.

The chosen sentences are laid out one block per document (``evidence.layout``), re-counted
exactly, and returned as those blocks, so the context never exceeds the budget.

>>> from ragengine.testing import WhitespaceCounter, make_candidates
>>> sel = EvidenceSelector(counter=WhitespaceCounter())
>>> cands = make_candidates(["Sky launched in 1998. It grew.", "Cats purr."])
>>> out = sel.select(SelectionInput("When did Sky launch?", cands, [6, 2], 8))
>>> out.context_tokens <= 8, "1998" in out.chosen[0].chunk.text
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ragengine.errors import InvalidInput
from ragengine.evidence.layout import fit_layout
from ragengine.evidence.scorer import EvidenceScorer
from ragengine.evidence.units import Units, split_units
from ragengine.select.base import SelectionInput, empty_reason
from ragengine.text import SEPARATOR, content_words
from ragengine.tokens import TokenCounter
from ragengine.types import Selection

MODES = ("gain", "rank", "prune")


def _fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise InvalidInput(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


class EvidenceSelector:
    """Sentence-level selection under the budget (see the module docstring for the modes)."""

    name = "evidence"

    def __init__(
        self,
        counter: TokenCounter | None = None,
        *,
        mode: str = "gain",
        min_gain: float = 0.005,
        redundancy: float = 0.5,
        bridge: float = 0.9,
        spread: float = 0.5,
        length_power: float = 0.0,
        sufficient: float = 0.5,
        unit_share: float | None = 0.75,
        scorer: EvidenceScorer | None = None,
    ) -> None:
        if mode not in MODES:
            raise InvalidInput(f"unknown evidence mode {mode!r}; choose one of {', '.join(MODES)}")
        self.counter = counter
        self.mode = mode
        self.min_gain = _fraction("min_gain", min_gain)
        self.redundancy = _fraction("redundancy", redundancy)
        self.bridge = _fraction("bridge", bridge)
        self.spread = _fraction("spread", spread)
        self.length_power = _fraction("length_power", length_power)
        self.sufficient = _fraction("sufficient", sufficient)
        self.scorer = scorer or EvidenceScorer()
        self.unit_share = None if unit_share is None else _fraction("unit_share", unit_share)

    def score(self, question: str, units: Units) -> np.ndarray:
        """The scorer's probability for every sentence of ``units``."""
        cands = units.candidates
        return self.scorer.score(question, units.passages(), [c.score for c in cands], list(range(len(cands))))

    def select(self, inp: SelectionInput) -> Selection:
        if self.counter is None:
            raise InvalidInput("the evidence selector needs the reader's token counter: EvidenceSelector(counter=...)")
        limit = None if self.unit_share is None else max(8, int(self.unit_share * inp.budget_tokens))
        units = split_units(inp.candidates, self.counter, limit)
        if not units.sentences:
            return Selection((), 0, inp.budget_tokens, self.name, empty_reason(inp))
        p = self.score(inp.query, units)
        sep = self.counter.count(SEPARATOR)
        if self.mode == "gain":
            order, stats = self._gain(inp.query, units, p, inp.budget_tokens, sep)
        else:
            order, stats = self._ordered(units, p, inp.budget_tokens, sep)
        blocks, kept, exact = fit_layout(units, order, self.counter, inp.budget_tokens, p)
        kept_set = set(kept)
        value = 1.0 - float(np.prod([1.0 - p[i] for i in kept])) if kept else 0.0
        fates = [
            {
                "chunk_id": units.candidates[s.candidate].chunk.chunk_id,
                "sentence": s.index,
                "text": s.text,
                "p": round(float(p[i]), 4),
                "tokens": s.tokens,
                "fate": "selected" if i in kept_set else "not chosen",
            }
            for i, s in enumerate(units.sentences)
        ]
        used = {units.candidates[units.sentences[i].candidate].chunk.chunk_id for i in kept}
        lead = {b.chunk.chunk_id for b in blocks}
        dropped = {
            c.chunk.chunk_id: ("sentences used" if c.chunk.chunk_id in used else "no sentence chosen")
            for c in inp.candidates
            if c.chunk.chunk_id not in lead
        }
        stats.update(
            mode=self.mode,
            scorer=self.scorer.name,
            value=round(value, 4),
            sufficient=value >= self.sufficient,
            sentences_offered=len(units.sentences),
            sentences_chosen=len(kept),
            sentences=fates,
        )
        if stats.get("stopped") == "adaptive":
            stats["tokens_saved"] = inp.budget_tokens - exact
        reason = ""
        if not blocks:
            need = min(s.tokens + units.header_tokens[s.group] for s in units.sentences)
            reason = (
                f"no sentence fits the budget: the smallest costs {need} tokens with its title line and the budget "
                f"is {inp.budget_tokens}; raise the budget"
            )
        return Selection(tuple(blocks), exact, inp.budget_tokens, self.name, reason, dropped, stats)

    def _ordered(self, units: Units, p: np.ndarray, budget: int, sep: int) -> tuple[list[int], dict[str, Any]]:
        """``rank`` (by probability) or ``prune`` (above threshold, in retrieval order), then truncate."""
        if self.mode == "rank":
            order = sorted(range(len(p)), key=lambda i: (-p[i], i))
        else:
            order = [i for i in range(len(p)) if p[i] >= self.scorer.threshold]
        chosen: list[int] = []
        used, docs = 0, set[str]()
        for i in order:
            s = units.sentences[i]
            extra = units.cost(s, docs, sep)
            if used + extra > budget:
                if self.mode == "prune":
                    break  # truncation: the pruned context is cut at the budget
                continue
            chosen.append(i)
            used += extra
            docs.add(s.group)
        return chosen, {"stopped": "budget" if len(chosen) < len(order) else "exhausted"}

    def _gain(
        self, question: str, units: Units, p: np.ndarray, budget: int, sep: int
    ) -> tuple[list[int], dict[str, Any]]:
        """Greedy by marginal noisy-or value per token, bridging, redundancy and the adaptive stop."""
        sents = units.sentences
        words = [set(content_words(s.text)) for s in sents]
        q_words = set(content_words(question))
        title_words = {doc: set(content_words(t)) - q_words for doc, t in units.titles.items()}
        prob = p.astype(np.float64).copy()
        chosen: list[int] = []
        docs: set[str] = set()
        bonus: dict[str, float] = {}  # a bridged document: the chance that it is the second hop
        miss, used, stopped = 1.0, 0, "exhausted"
        doc_miss: dict[str, float] = {}
        available = set(range(len(sents)))
        overlap = np.zeros(len(sents))  # each sentence's largest word overlap (Jaccard) with a chosen one
        while available:
            best, best_ratio, best_gain = -1, 0.0, 0.0
            for i in sorted(available):
                s = sents[i]
                extra = units.cost(s, docs, sep)
                if used + extra > budget:
                    continue
                left = (1.0 - self.spread) * miss + self.spread * doc_miss.get(s.group, 1.0)
                if s.group in bonus and s.group not in docs:  # the next hop is not covered by the first
                    left = 1.0
                gain = left * prob[i] * (1.0 - self.redundancy * overlap[i])
                ratio = gain / extra**self.length_power
                if ratio > best_ratio:
                    best, best_ratio, best_gain = i, ratio, gain
            if best < 0:
                stopped = "budget"
                break
            if best_gain < self.min_gain and chosen:
                stopped = "adaptive"
                break
            s = sents[best]
            used += units.cost(s, docs, sep)
            docs.add(s.group)
            chosen.append(best)
            available.discard(best)
            miss *= 1.0 - prob[best]
            doc_miss[s.group] = doc_miss.get(s.group, 1.0) * (1.0 - prob[best])
            if self.redundancy > 0:
                for i in available:
                    if words[i] and words[best]:
                        jac = len(words[i] & words[best]) / len(words[i] | words[best])
                        overlap[i] = max(overlap[i], jac)
            if self.bridge > 0:  # a document whose title the chosen sentence names may be the next hop
                for doc, tw in title_words.items():
                    same_article = units.titles[doc] == units.titles[s.group]  # paragraphs of one page: no hop
                    if doc not in docs and doc not in bonus and not same_article and tw and tw <= words[best]:
                        bonus[doc] = self.bridge * float(prob[best])
                        for i in available:
                            if sents[i].group == doc:
                                prob[i] = 1.0 - (1.0 - prob[i]) * (1.0 - bonus[doc])
        return chosen, {"stopped": stopped, "bridged": sorted(d for d in bonus if d in docs)}


def selector_needs_counter(name: str) -> bool:
    """Whether the strategy ``name`` must be built with the reader's token counter."""
    return name == EvidenceSelector.name


__all__ = ["MODES", "EvidenceSelector", "selector_needs_counter"]
