"""The query-time flow for one question, and the one place that times stages and charges the Ledger.

[cache route] -> rewrite -> retrieve (+ rerank) per query -> fuse -> clusters -> select under the
context budget -> assemble (exact re-count) -> generate -> [remember in cache].

Every stage runs inside ``charged(ledger, name)``, which times it and charges what it reports
(LLM tokens in and out, calls) to the query's ``Ledger``; a stage that did not run has no row,
except retrieval reused from given or cached candidates, whose row says it cost nothing.
The budget -> context rule is ``ragengine.assemble``.

With an answer cache, a question first takes one of three paths, recorded as ``trace["path"]``:
``cache`` (a cached answer whose context fits the budget: no retrieval, no LLM tokens),
``cache_chunks`` (a cached answer with a larger context: its chunks are re-selected under this
budget and the answer regenerated) or ``retrieve`` (everything runs; the answer is then cached).
Candidates passed in (``retrieved=``, from ``Pipeline.retrieve``) give the path ``given``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ragengine import assemble
from ragengine.budget import Budget, Ledger
from ragengine.errors import InvalidInput
from ragengine.retrieve.fusion import fuse_retrievals
from ragengine.select.base import Selector
from ragengine.stages import Settings, Stages
from ragengine.types import Answer, Candidate, Citation, Retrieved

NO_ANSWER = "[no answer]"


@dataclass
class Spend:
    """What a stage reports it spent, filled in inside ``charged``."""

    tokens_in: int = 0
    tokens_out: int = 0
    llm_calls: int = 0


@contextmanager
def charged(ledger: Ledger, stage: str) -> Iterator[Spend]:
    """Time the block and charge it, with the LLM tokens it reports, to ``stage`` of ``ledger``."""
    spend, t = Spend(), time.perf_counter()
    try:
        yield spend
    finally:
        ms = (time.perf_counter() - t) * 1000
        ledger.charge(stage, tokens_in=spend.tokens_in, tokens_out=spend.tokens_out, llm_calls=spend.llm_calls, ms=ms)


def check_question(question: object) -> str:
    if not isinstance(question, str):
        raise InvalidInput(f"question must be a string, got {type(question).__name__}")
    if not question.strip():
        raise InvalidInput("question is empty; pass the text of a question, e.g. 'Who founded the city?'")
    return question.strip()


@dataclass
class Pipeline:
    stages: Stages
    settings: Settings

    @property
    def selector(self) -> Selector:
        return self.stages.selector

    def retrieve(self, question: str) -> Retrieved:
        """The candidates the selector would choose from (every candidate stage run, none charged)."""
        return self.gather(check_question(question), Ledger())

    def _one(self, query: str, ledger: Ledger) -> Retrieved:
        s, k = self.stages, self.settings.candidates
        if s.reranker is None:
            with charged(ledger, "retrieve"):
                return s.retriever.retrieve(query, k)
        with charged(ledger, "retrieve"):
            pool = s.retriever.retrieve(query, max(self.settings.rerank_pool, k))
        with charged(ledger, "rerank"):
            ranked = s.reranker.rerank(query, pool.candidates, query_vector=pool.query_vector, k=k)
        return Retrieved(list(ranked), pool.query_vector, {**pool.stats, "reranked_from": len(pool.candidates)})

    def gather(self, question: str, ledger: Ledger, *, llm_allowance: int | None = None) -> Retrieved:
        """The candidates for ``question`` after every configured candidate stage, each charged to ``ledger``.

        ``llm_allowance``: LLM tokens a rewrite may spend (None: no limit). A rewriter that could
        spend more (``worst_case_tokens``) is skipped, and the trace says so.
        """
        s = self.stages
        queries: Sequence[str] = (question,)
        rewrite_trace: dict[str, Any] | None = None
        rewriter = s.rewriter
        worst = getattr(rewriter, "worst_case_tokens", None)
        if rewriter is not None and llm_allowance is not None and callable(worst):
            need = int(worst(question, s.counter))
            if need > llm_allowance:
                rewriter = None
                rewrite_trace = {
                    "method": getattr(s.rewriter, "name", "?"),
                    "queries": [question],
                    "skipped": f"the rewrite could spend {need} LLM tokens; the total budget leaves {llm_allowance}",
                }
        if rewriter is not None:
            with charged(ledger, "rewrite") as spend:
                rw = rewriter.rewrite(question)
                spend.tokens_in, spend.tokens_out, spend.llm_calls = rw.tokens_in, rw.tokens_out, rw.llm_calls
            queries = rw.queries or (question,)
            rewrite_trace = {**rw.trace(), "tokens_in": rw.tokens_in, "tokens_out": rw.tokens_out}
        lists = [self._one(q, ledger) for q in queries]
        if len(lists) == 1:
            out = lists[0]
        else:  # the original question's query vector is kept (selectors and clusters compare with it)
            out = fuse_retrievals(lists, limit=self.settings.candidates, original_weight=self.settings.original_weight)
        if rewrite_trace is not None:
            out = replace(out, stats={**out.stats, "rewrite": rewrite_trace})
        if s.augmenter is not None:
            with charged(ledger, "cluster"):
                out = s.augmenter.augment(question, out)
        return out

    def chunk_vectors(self, candidates: Sequence[Candidate]) -> np.ndarray | None:
        """Embeddings of the candidates (derived cluster candidates included), or None if unknown.

        Candidates that are not index chunks (cluster excerpts and summaries) are known only to the
        cluster augmenter; without one (e.g. a ``Retrieved`` built elsewhere) the selector gets no
        vectors rather than an error, and falls back to its word-overlap measures.
        """
        try:
            if self.stages.augmenter is not None:
                return np.asarray(self.stages.augmenter.chunk_vectors(list(candidates)), dtype=np.float32)
            return self.stages.retriever.chunk_vectors(list(candidates))
        except (KeyError, InvalidInput):  # a derived candidate this process's augmenter did not make
            return None

    def context_budget(self, question: str, budget: Budget, ledger: Ledger | None = None) -> tuple[int, str]:
        """``assemble.context_budget`` with this pipeline's generator and prices, after what ``ledger`` spent."""
        st = self.settings
        spent, usd = (ledger.total_tokens, ledger.usd) if ledger is not None else (0, 0.0)
        return assemble.context_budget(
            question, budget, self.stages.generator, st.prices, st.max_new_tokens, spent, usd
        )

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
        citations = self.stages.cache.citations(route) if self.stages.cache is not None else []
        return Answer(
            text=entry.answer, citations=citations, cost=ledger, trace=trace, budget=budget, question=question
        )

    def _route(self, question: str, budget: Budget, ledger: Ledger, trace: dict[str, Any]) -> Any:
        """The answer cache's route for this question (None without a cache); recorded in ``trace``."""
        if self.stages.cache is None:
            return None
        with charged(ledger, "cache"):
            route = self.stages.cache.route(question, self.context_budget(question, budget)[0])
        trace["path"], trace["cache"] = route.path, route.trace()
        return route

    def run(
        self,
        question: str,
        budget: Budget,
        *,
        retrieved: Retrieved | None = None,
        trace_candidates: bool = True,
        on_text: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer ``question``; pass ``retrieved`` (from ``retrieve``) to re-run only selection and generation.

        ``on_text`` receives the answer as it is generated (piece by piece from a generator that
        streams, ``streams = True``; in one piece from any other).
        """
        question = check_question(question)
        if not isinstance(budget, Budget):
            raise InvalidInput(f"budget must be a ragengine.Budget, got {type(budget).__name__}")
        s, st = self.stages, self.settings
        assemble.check_fits(question, s.generator, st.max_new_tokens)
        ledger = Ledger(prices=st.prices)
        trace: dict[str, Any] = {
            "strategy": s.selector.name,
            "generator": getattr(s.generator, "name", "none"),
            "reranker": "none" if s.reranker is None else "terms",
            "rewrite": getattr(s.rewriter, "name", "none"),
            "clusters": s.augmenter is not None,
        }
        cached = retrieved is not None
        route = None if cached else self._route(question, budget, ledger, trace)
        if route is None:
            trace["path"] = "given" if cached else "retrieve"
        elif route.path == "cache":
            return self._served(question, budget, route, ledger, trace)
        elif route.path == "cache_chunks" and s.cache is not None:
            retrieved, cached = s.cache.candidates(route), True
        if retrieved is None:
            allowance = assemble.llm_allowance(question, budget, s.generator, st.prices, st.max_new_tokens)
            retrieved = self.gather(question, ledger, llm_allowance=allowance)
        else:  # given or from the cache: the row says retrieval was reused and cost nothing
            ledger.charge("retrieve", ms=0.0)
        trace["retrieval"] = {"mode": s.retriever.mode, "cached": cached, **retrieved.stats}

        with charged(ledger, "select"):
            ctx_budget, why = self.context_budget(question, budget, ledger)
            costs = assemble.candidate_costs(retrieved.candidates, s.counter, st.index_tokenizer)
            vectors = None
            if ctx_budget > 0 and retrieved.candidates and retrieved.query_vector is not None:
                vectors = self.chunk_vectors(retrieved.candidates)
            selection = assemble.choose(
                question,
                retrieved.candidates,
                costs,
                ctx_budget,
                s.selector,
                query_vector=retrieved.query_vector,
                chunk_vectors=vectors,
                seed=st.seed,
                reason=why,
            )
        with charged(ledger, "assemble"):
            chosen, _, exact = assemble.trim(selection.chosen, s.counter, ctx_budget)
        ledger.context_tokens = exact
        trace["selection"] = {
            "context_budget": ctx_budget,
            "context_tokens": exact,
            "reason": selection.reason or why,
            "stats": selection.stats,
        }
        if trace_candidates:
            trace["candidates"] = _candidate_trace(retrieved.candidates, costs, chosen, selection.dropped)

        text = ""
        value = selection.stats.get("value")
        abstain = st.abstain_below is not None and isinstance(value, float) and value < st.abstain_below
        if s.generator is None:
            trace["dry_run"] = True
        elif not chosen:
            text = f"{NO_ANSWER} {selection.reason or why}"
        elif abstain:  # the evidence says the context does not hold the answer: no reader call is bought
            text = (
                f"{NO_ANSWER} the retrieved text does not appear to hold the answer "
                f"(evidence {value:.2f}, below {st.abstain_below:g})"
            )
            trace["abstained"] = True
        else:
            with charged(ledger, "generate") as spend:
                texts = [c.chunk.text for c in chosen]
                if on_text is not None and getattr(s.generator, "streams", False):
                    gen = s.generator.generate(question, texts, max_tokens=st.max_new_tokens, on_text=on_text)  # type: ignore[call-arg]
                else:
                    gen = s.generator.generate(question, texts, max_tokens=st.max_new_tokens)
                    if on_text is not None and gen.text:
                        on_text(gen.text)
                spend.tokens_in, spend.tokens_out, spend.llm_calls = (
                    gen.prompt_tokens,
                    gen.completion_tokens,
                    gen.llm_calls,
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
        remember = route is not None and route.path == "retrieve" and s.generator is not None and chosen
        if remember and s.cache is not None:
            s.cache.remember(question, text, citations, exact, retrieved.query_vector)
        return Answer(text=text, citations=citations, cost=ledger, trace=trace, budget=budget, question=question)


def _candidate_trace(
    candidates: Sequence[Candidate], costs: Sequence[int], chosen: Sequence[Candidate], dropped: dict[str, str]
) -> list[dict[str, Any]]:
    picked = {c.chunk.chunk_id for c in chosen}
    return [
        {
            "chunk_id": c.chunk.chunk_id,
            "doc_id": c.chunk.doc_id,
            "rank": c.rank,
            "score": c.score,
            "scores": c.scores,
            "cost": cost,
            "fate": "selected" if c.chunk.chunk_id in picked else dropped.get(c.chunk.chunk_id, "over budget"),
        }
        for c, cost in zip(candidates, costs, strict=True)
    ]
