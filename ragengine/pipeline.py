"""Composes the stages for one question; the only place that times stages and charges the Ledger.

retrieve -> select (under the context budget) -> assemble (exact re-count) -> generate.
If the total budget is set, the context budget shrinks to leave room for the prompt's own
tokens and the answer. An answer that cannot be formed within budget says so and spends nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ragengine.budget import Budget, Ledger, PriceTable
from ragengine.errors import InvalidInput
from ragengine.generate.base import Generator
from ragengine.generate.prompt import SEPARATOR, format_context
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
    retriever: HybridRetriever
    selector: Selector
    generator: Generator | None
    counter: TokenCounter
    index_tokenizer: str
    prices: PriceTable
    candidates: int = 30
    max_new_tokens: int = 32
    seed: int = 0
    reranker: Any = None
    rerank_pool: int = 200

    def _retrieve(self, question: str, ledger: Ledger | None = None) -> Retrieved:
        """Fused candidates, re-ranked by term matching when a reranker is set (stage ``rerank``)."""
        if self.reranker is None:
            return self.retriever.retrieve(question, self.candidates)
        pool = self.retriever.retrieve(question, max(self.rerank_pool, self.candidates))
        t = time.perf_counter()
        ranked = self.reranker.rerank(question, pool.candidates, query_vector=pool.query_vector, k=self.candidates)
        if ledger is not None:
            ledger.charge("rerank", ms=(time.perf_counter() - t) * 1000)
        return Retrieved(list(ranked), pool.query_vector, {**pool.stats, "reranked_from": len(pool.candidates)})

    def _costs(self, retrieved: Retrieved) -> list[int]:
        c = self.counter
        sep = max(c.count(SEPARATOR), c.count(f"x{SEPARATOR}y") - c.count("x") - c.count("y"))
        same = self.counter.name == self.index_tokenizer
        return [
            max(1, (c.chunk.n_tokens if same else self.counter.count(c.chunk.text.strip())) + sep)
            for c in retrieved.candidates
        ]

    def context_budget(self, question: str, budget: Budget) -> tuple[int, str]:
        """The tokens the context may use, and why it is less than ``budget.context_tokens`` if it is."""
        if budget.total_tokens is None or self.generator is None:
            return budget.context_tokens, ""
        overhead = self.generator.prompt_overhead(question)
        room = budget.total_tokens - overhead - self.max_new_tokens
        if room < budget.context_tokens:
            return room, (
                f"total budget {budget.total_tokens} leaves {max(room, 0)} context tokens after the prompt "
                f"({overhead}) and the answer ({self.max_new_tokens})"
            )
        return budget.context_tokens, ""

    def retrieve(self, question: str) -> Retrieved:
        return self._retrieve(check_question(question))

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
            "reranker": "none" if self.reranker is None else "terms",
        }

        cached = retrieved is not None
        ledger.charge("retrieve")  # first in the ledger's stage order; its time is added below
        t = time.perf_counter()
        if retrieved is None:
            retrieved = self._retrieve(question, ledger)
        spent = (time.perf_counter() - t) * 1000 - (ledger.stages["rerank"].ms if "rerank" in ledger.stages else 0.0)
        ledger.charge("retrieve", ms=0.0 if cached else spent)
        trace["retrieval"] = {"mode": self.retriever.mode, "cached": cached, **retrieved.stats}

        t = time.perf_counter()
        ctx_budget, why = self.context_budget(question, budget)
        costs = self._costs(retrieved)
        if ctx_budget <= 0 or not retrieved.candidates:
            reason = why or "no candidates were retrieved"
            selection = Selection((), 0, max(ctx_budget, 0), self.selector.name, reason)
        else:
            vectors = self.retriever.chunk_vectors(retrieved.candidates) if retrieved.query_vector is not None else None
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
        return Answer(text=text, citations=citations, cost=ledger, trace=trace, budget=budget, question=question)
