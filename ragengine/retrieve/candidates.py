"""The candidate stages of one question: rewrite -> retrieve (+ term re-rank) per query -> fuse -> clusters.

``CandidateSource.gather(question, ledger)`` returns the candidates the selector chooses from and
charges each stage it ran to the ledger:

- ``rewrite`` (only when a rewriter is set): the queries to search with; an LLM rewriter's prompt
  and completion tokens are charged here.
- ``retrieve``: hybrid BM25 + dense retrieval of every query (time only).
- ``rerank`` (only with a term re-ranker): TILDE-style term matching over a larger pool.
- fusion: the lists of several queries are fused by RRF (``fuse_retrievals``); one query needs none.
- ``cluster`` (only with clusters on): CRAG granularities (excerpts, best members, summaries)
  added and near-duplicates merged.

The result's ``stats`` say what ran (``rewrite`` trace, ``fused_lists``, ``clusters``), so a
caller holding a ``Retrieved`` from ``Engine.retrieve`` can still tell how it was made.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ragengine.budget import Ledger
from ragengine.errors import InvalidInput
from ragengine.retrieve.hybrid import HybridRetriever
from ragengine.types import Candidate, Retrieved


@dataclass
class CandidateSource:
    retriever: HybridRetriever
    candidates: int = 30
    reranker: Any = None
    rerank_pool: int = 200
    rewriter: Any = None
    original_weight: float | None = None
    augmenter: Any = None
    counter: Any = None
    """The generator's token counter (bounds an LLM rewrite's cost before it is made)."""

    def _one(self, query: str, ledger: Ledger | None) -> Retrieved:
        t = time.perf_counter()
        if self.reranker is None:
            out = self.retriever.retrieve(query, self.candidates)
            if ledger is not None:
                ledger.charge("retrieve", ms=(time.perf_counter() - t) * 1000)
            return out
        pool = self.retriever.retrieve(query, max(self.rerank_pool, self.candidates))
        t2 = time.perf_counter()
        ranked = self.reranker.rerank(query, pool.candidates, query_vector=pool.query_vector, k=self.candidates)
        if ledger is not None:
            ledger.charge("retrieve", ms=(t2 - t) * 1000)
            ledger.charge("rerank", ms=(time.perf_counter() - t2) * 1000)
        return Retrieved(list(ranked), pool.query_vector, {**pool.stats, "reranked_from": len(pool.candidates)})

    def gather(self, question: str, ledger: Ledger | None = None, *, llm_allowance: int | None = None) -> Retrieved:
        """The candidates for ``question`` after every configured stage; stages charged to ``ledger``.

        ``llm_allowance``: LLM tokens a rewrite may spend (None: no limit). A rewriter that could
        spend more (``worst_case_tokens``) is skipped, and the trace says so.
        """
        queries: Sequence[str] = (question,)
        rewrite_trace: dict[str, Any] | None = None
        rewriter = self.rewriter
        worst = getattr(rewriter, "worst_case_tokens", None)
        if rewriter is not None and llm_allowance is not None and callable(worst) and self.counter is not None:
            need = int(worst(question, self.counter))
            if need > llm_allowance:
                rewriter = None
                rewrite_trace = {
                    "method": getattr(self.rewriter, "name", "?"),
                    "queries": [question],
                    "skipped": f"the rewrite could spend {need} LLM tokens; the total budget leaves {llm_allowance}",
                }
        if rewriter is not None:
            t = time.perf_counter()
            rw = rewriter.rewrite(question)
            if ledger is not None:
                ledger.charge(
                    "rewrite",
                    tokens_in=rw.tokens_in,
                    tokens_out=rw.tokens_out,
                    llm_calls=rw.llm_calls,
                    ms=(time.perf_counter() - t) * 1000,
                )
            queries = rw.queries or (question,)
            rewrite_trace = {**rw.trace(), "tokens_in": rw.tokens_in, "tokens_out": rw.tokens_out}
        elif ledger is not None:
            ledger.charge("retrieve")  # keeps the ledger's stage order: retrieve first
        lists = [self._one(q, ledger) for q in queries]
        if len(lists) == 1:
            out = lists[0]
        else:
            from ragengine.rewrite import fuse_retrievals

            # the original question's query vector is kept (selectors and clusters compare with it)
            out = fuse_retrievals(lists, limit=self.candidates, original_weight=self.original_weight)
        if rewrite_trace is not None:
            out = replace(out, stats={**out.stats, "rewrite": rewrite_trace})
        if self.augmenter is not None:
            t = time.perf_counter()
            out = self.augmenter.augment(question, out)
            if ledger is not None:
                ledger.charge("cluster", ms=(time.perf_counter() - t) * 1000)
        return out

    def chunk_vectors(self, candidates: Sequence[Candidate]) -> np.ndarray | None:
        """Embeddings of the candidates (derived cluster candidates included), or None if unknown.

        Candidates that are not index chunks (cluster excerpts and summaries) are known only to the
        cluster augmenter; without one (e.g. a ``Retrieved`` built elsewhere) the selector gets no
        vectors rather than an error, and falls back to its word-overlap measures.
        """
        try:
            if self.augmenter is not None:
                return np.asarray(self.augmenter.chunk_vectors(list(candidates)), dtype=np.float32)
            return self.retriever.chunk_vectors(list(candidates))
        except (KeyError, InvalidInput):  # a derived candidate this process's augmenter did not make
            return None
