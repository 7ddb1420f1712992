"""Composes the stages for one question; the only place that times stages and charges the Ledger.

[cache route] -> rewrite -> retrieve (+ rerank) -> fuse -> clusters -> select (under the context
budget) -> assemble (exact re-count) -> generate -> [remember in cache].

The candidate stages live in ``retrieve.candidates.CandidateSource``. With a cache (a
``RetrievalTrigger``), a question first takes one of three paths, recorded as ``trace["path"]``:
``cache`` (a cached answer whose context fits the budget: no retrieval, no LLM tokens),
``cache_chunks`` (a cached answer with a larger context: its chunks are re-selected under this
budget and the answer regenerated) or ``retrieve`` (everything runs; the answer is then cached).

If the total budget is set, the context budget shrinks to leave room for the prompt's own
tokens, the answer, and any tokens a query rewriter already spent. An answer that cannot be
formed within budget says so and spends nothing more.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from ragengine.budget import Budget, Ledger, PriceTable
from ragengine.errors import InvalidInput
from ragengine.generate.base import Generator
from ragengine.generate.prompt import format_context, separator_cost
from ragengine.retrieve.candidates import CandidateSource
from ragengine.retrieve.hybrid import HybridRetriever
from ragengine.select.base import Selection, SelectionInput, Selector
from ragengine.tokens import TokenCounter
from ragengine.types import Answer, Citation, Retrieved

NO_ANSWER = "[no answer]"


def check_question(question: object) -> str:
    if not isinstance(question, str):
        raise InvalidInput(f"question must be a string, got {type(question).__name__}")
    if not question.strip():
        raise InvalidInput("question is empty; pass the text of a question, e.g. 'Who founded the city?'")
    return question.strip()


@dataclass
class Pipeline:
    source: CandidateSource
    selector: Selector
    generator: Generator | None
    counter: TokenCounter
    index_tokenizer: str
    prices: PriceTable
    max_new_tokens: int = 32
    seed: int = 0
    trigger: Any = None
    """A ``cache.RetrievalTrigger`` (answer cache on), or None."""

    @property
    def retriever(self) -> HybridRetriever:
        return self.source.retriever

    def costs(self, retrieved: Retrieved) -> list[int]:
        """Each candidate's exact tokens in the prompt, one separator included."""
        c = self.counter
        sep = separator_cost(c)
        same = c.name == self.index_tokenizer
        return [
            max(1, (x.chunk.n_tokens if same else c.count(x.chunk.text.strip())) + sep) for x in retrieved.candidates
        ]

    def context_budget(self, question: str, budget: Budget, spent: int = 0, spent_usd: float = 0.0) -> tuple[int, str]:
        """The tokens the context may use, and why it is less than ``budget.context_tokens`` if it is.

        ``spent`` / ``spent_usd``: LLM tokens and dollars this question already used (a query
        rewrite); they count against ``budget.total_tokens`` and ``budget.usd`` too. A dollar
        budget binds only when the ``PriceTable`` gives tokens a price (the local model is free).
        """
        room, why = budget.context_tokens, ""
        if self.generator is None or (budget.total_tokens is None and budget.usd is None):
            return room, why
        overhead = self.generator.prompt_overhead(question)
        rewrite = f", the query rewrite ({spent})" if spent else ""
        if budget.total_tokens is not None:
            r = budget.total_tokens - spent - overhead - self.max_new_tokens
            if r < room:
                room, why = (
                    r,
                    (
                        f"total budget {budget.total_tokens} leaves {max(r, 0)} context tokens after the prompt "
                        f"({overhead}){rewrite} and the answer ({self.max_new_tokens})"
                    ),
                )
        p = self.prices
        if budget.usd is not None and (p.input_per_1k > 0 or p.output_per_1k > 0):
            left = budget.usd - spent_usd - p.cost(0, self.max_new_tokens)
            r = math.floor(left / (p.input_per_1k / 1000.0)) - overhead if p.input_per_1k > 0 else room
            if left < 0:
                r = 0
            if r < room:
                room, why = (
                    r,
                    (
                        f"dollar budget ${budget.usd:g} leaves {max(r, 0)} context tokens after the prompt ({overhead})"
                        f"{rewrite} and the answer ({self.max_new_tokens}) at ${p.input_per_1k:g}/${p.output_per_1k:g} "
                        "per 1k tokens in/out"
                    ),
                )
        return room, why

    def llm_allowance(self, question: str, budget: Budget) -> int | None:
        """LLM tokens a query rewrite may spend and still leave the answer call its minimum (None: no cap)."""
        if self.generator is None:
            return None
        caps = []
        overhead = self.generator.prompt_overhead(question)
        if budget.total_tokens is not None:
            caps.append(budget.total_tokens - overhead - self.max_new_tokens - 1)
        p = self.prices
        if budget.usd is not None and (p.input_per_1k > 0 or p.output_per_1k > 0):
            per_token = max(p.input_per_1k, p.output_per_1k) / 1000.0
            answer = p.cost(overhead + 1, self.max_new_tokens)
            caps.append(math.floor((budget.usd - answer) / per_token))
        return min(caps) if caps else None

    def retrieve(self, question: str) -> Retrieved:
        """The candidates the selector would choose from (every candidate stage run, none charged)."""
        return self.source.gather(check_question(question))

    def _served(self, question: str, budget: Budget, route: Any, ledger: Ledger, trace: dict[str, Any]) -> Answer:
        """A cached answer served as is: no retrieval, no selection, no LLM call."""
        entry = route.hit.entry
        ledger.context_tokens = entry.context_tokens
        trace["selection"] = {
            "context_budget": budget.context_tokens,
            "context_tokens": entry.context_tokens,
            "reason": "served from the answer cache",
            "stats": {},
        }
        trace["retrieval"] = {"mode": "cache", "cached": True}
        trace["candidates"] = []
        citations = self.trigger.citations(route)
        return Answer(
            text=entry.answer, citations=citations, cost=ledger, trace=trace, budget=budget, question=question
        )

    def run(
        self, question: str, budget: Budget, *, retrieved: Retrieved | None = None, trace_candidates: bool = True
    ) -> Answer:
        """Answer ``question``; pass ``retrieved`` (from ``retrieve``) to re-run only selection and generation."""
        question = check_question(question)
        if not isinstance(budget, Budget):
            raise InvalidInput(f"budget must be a ragengine.Budget, got {type(budget).__name__}")
        ledger = Ledger(prices=self.prices)
        trace: dict[str, Any] = {
            "strategy": self.selector.name,
            "generator": getattr(self.generator, "name", "none"),
            "reranker": "none" if self.source.reranker is None else "terms",
            "rewrite": getattr(self.source.rewriter, "name", "none"),
            "clusters": self.source.augmenter is not None,
        }

        cached = retrieved is not None
        route = None
        if self.trigger is not None and not cached:
            t = time.perf_counter()
            route = self.trigger.route(question, self.context_budget(question, budget)[0])
            ledger.charge("cache", ms=(time.perf_counter() - t) * 1000)
            trace["path"], trace["cache"] = route.path, route.trace()
            if route.path == "cache":
                return self._served(question, budget, route, ledger, trace)
            if route.path == "cache_chunks":
                retrieved, cached = self.trigger.candidates(route), True
        else:
            trace["path"] = "given" if cached else "retrieve"
        if retrieved is None:
            retrieved = self.source.gather(question, ledger, llm_allowance=self.llm_allowance(question, budget))
        else:
            ledger.charge("retrieve")  # given or from the cache: no retrieval time; the stage still shows
        trace["retrieval"] = {"mode": self.retriever.mode, "cached": cached, **retrieved.stats}

        t = time.perf_counter()
        ctx_budget, why = self.context_budget(question, budget, ledger.total_tokens, ledger.usd)
        costs = self.costs(retrieved)
        if ctx_budget <= 0 or not retrieved.candidates:
            reason = why or "no candidates were retrieved"
            selection = Selection((), 0, max(ctx_budget, 0), self.selector.name, reason)
        else:
            vectors = self.source.chunk_vectors(retrieved.candidates) if retrieved.query_vector is not None else None
            inp = SelectionInput(
                question, retrieved.candidates, costs, ctx_budget, retrieved.query_vector, vectors, self.seed
            )
            selection = self.selector.select(inp)
        ledger.charge("select", ms=(time.perf_counter() - t) * 1000)

        t = time.perf_counter()
        chosen = list(selection.chosen)
        context = format_context([c.chunk.text for c in chosen])
        exact = self.counter.count(context)
        while chosen and exact > ctx_budget:  # a tokenizer merge across a boundary: never overspend
            chosen.pop()
            context = format_context([c.chunk.text for c in chosen])
            exact = self.counter.count(context)
        ledger.context_tokens = exact
        ledger.charge("assemble", ms=(time.perf_counter() - t) * 1000)
        trace["selection"] = {
            "context_budget": ctx_budget,
            "context_tokens": exact,
            "reason": selection.reason or why,
            "stats": selection.stats,
        }
        if trace_candidates:
            picked = {c.chunk.chunk_id for c in chosen}
            trace["candidates"] = [
                {
                    "chunk_id": c.chunk.chunk_id,
                    "doc_id": c.chunk.doc_id,
                    "rank": c.rank,
                    "score": c.score,
                    "scores": c.scores,
                    "cost": cost,
                    "fate": "selected"
                    if c.chunk.chunk_id in picked
                    else selection.dropped.get(c.chunk.chunk_id, "over budget"),
                }
                for c, cost in zip(retrieved.candidates, costs, strict=True)
            ]

        text = ""
        if self.generator is None:
            trace["dry_run"] = True
        elif not chosen:
            text = f"{NO_ANSWER} {selection.reason or why}"
        else:
            t = time.perf_counter()
            gen = self.generator.generate(question, [c.chunk.text for c in chosen], max_tokens=self.max_new_tokens)
            ledger.charge(
                "generate",
                tokens_in=gen.prompt_tokens,
                tokens_out=gen.completion_tokens,
                llm_calls=gen.llm_calls,
                ms=(time.perf_counter() - t) * 1000,
            )
            text = gen.text
            trace["model"] = gen.model
        citations = [Citation.from_chunk(c.chunk) for c in chosen]
        if budget.latency_ms is not None:  # a target, not a guarantee: the trace says whether it held
            trace["latency"] = {
                "target_ms": budget.latency_ms,
                "ms": round(ledger.ms, 1),
                "met": ledger.ms <= budget.latency_ms,
            }
        if route is not None and route.path == "retrieve" and self.generator is not None and chosen:
            self.trigger.remember(question, text, citations, exact, retrieved.query_vector)
        return Answer(text=text, citations=citations, cost=ledger, trace=trace, budget=budget, question=question)
