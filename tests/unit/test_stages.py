"""Every stage of the pipeline can be replaced by passing an object that satisfies its Protocol."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragengine import Budget, Engine
from ragengine.cache import Route
from ragengine.errors import InvalidInput
from ragengine.rewrite.base import Rewrite
from ragengine.select.base import SelectionInput, make_selection
from ragengine.stages import STAGE_NAMES, Stages
from ragengine.testing import EchoGenerator, make_candidates
from ragengine.types import Candidate, Citation, Retrieved, Selection

TEXTS = ["Alpha is first. It leads.", "Beta is second.", "Gamma is third.", "Delta is fourth."]


class FixedRetriever:
    mode = "fixed"

    def __init__(self) -> None:
        self.queries: list[str] = []

    def retrieve(self, query: str, k: int = 30) -> Retrieved:
        self.queries.append(query)
        return Retrieved(make_candidates(TEXTS)[:k], None, {"fixed": True})

    def chunk_vectors(self, candidates: list[Candidate]) -> np.ndarray:
        raise KeyError("no vectors")


class ReverseReranker:
    def rerank(
        self,
        query: str,
        candidates: Sequence[Candidate],
        rows: Any = None,
        query_vector: Any = None,
        *,
        k: int | None = None,
    ) -> list[Candidate]:
        return list(reversed(list(candidates)))[:k]


class TwoQueries:
    name = "two"

    def rewrite(self, question: str) -> Rewrite:
        return Rewrite(question, (question, question + " again"), "two", tokens_in=3, tokens_out=2, llm_calls=1)


class AddSummary:
    def augment(self, question: str, retrieved: Retrieved) -> Retrieved:
        extra = make_candidates(["Summary of all."])[0]
        extra = Candidate(extra.chunk.__class__("summary:0", "summary", "Summary of all.", 3, 0), 0.0, 99)
        return Retrieved([*retrieved.candidates, extra], retrieved.query_vector, {**retrieved.stats, "augmented": 1})

    def chunk_vectors(self, candidates: Sequence[Candidate]) -> np.ndarray:
        raise KeyError("no vectors")


class RecordingCache:
    def __init__(self) -> None:
        self.remembered: list[str] = []

    def route(self, question: str, context_budget: int, qvec: np.ndarray | None = None) -> Route:
        return Route("retrieve", reason="fake")

    def citations(self, route: Route) -> list[Citation]:
        return []

    def candidates(self, route: Route) -> Retrieved:
        return Retrieved([])

    def remember(
        self, question: str, answer: str, citations: Sequence[Citation], context_tokens: int, qvec: Any = None
    ) -> bool:
        self.remembered.append(answer)
        return True


class LastFirst:
    """Picks the last candidate that fits, then nothing else."""

    name = "last-first"

    def select(self, inp: SelectionInput) -> Selection:
        fits = [i for i, c in enumerate(inp.costs) if c <= inp.budget_tokens]
        return make_selection(inp, fits[-1:], self.name)


def test_every_stage_can_be_passed_as_an_object(tiny_index: Path) -> None:
    retriever, cache = FixedRetriever(), RecordingCache()
    eng = Engine.from_index(
        tiny_index,
        generator=EchoGenerator(),
        retriever=retriever,
        reranker=ReverseReranker(),
        rewriter=TwoQueries(),
        augmenter=AddSummary(),
        cache=cache,
        selector=LastFirst(),
    )
    ans = eng.ask("Which is first?", Budget(context_tokens=20))
    assert retriever.queries == ["Which is first?", "Which is first? again"]
    assert list(ans.cost.stages) == [
        "cache",
        "rewrite",
        "retrieve",
        "rerank",
        "cluster",
        "select",
        "assemble",
        "generate",
    ]
    assert ans.cost.stages["rewrite"].tokens_in == 3 and ans.cost.stages["rewrite"].llm_calls == 1
    assert ans.trace["strategy"] == "last-first" and ans.trace["retrieval"]["mode"] == "fixed"
    assert ans.trace["retrieval"]["augmented"] == 1 and ans.trace["retrieval"]["fused_lists"] == 2
    assert [c.chunk_id for c in ans.citations] == ["summary:0"]  # the last candidate: the augmenter's
    assert ans.text == "Summary of all." and cache.remembered == ["Summary of all."]
    stages = eng.stages()
    assert isinstance(stages, Stages) and stages.retriever is retriever and stages.cache is cache


def test_a_strategy_name_still_overrides_a_passed_selector_per_question(tiny_index: Path) -> None:
    eng = Engine.from_index(tiny_index, generator="none", retriever=FixedRetriever(), selector=LastFirst())
    assert eng.ask("q?", 20).trace["strategy"] == "last-first"
    assert eng.ask("q?", 20, strategy="greedy").trace["strategy"] == "greedy"


def test_with_config_keeps_passed_stages_and_rebuilds_changed_ones(tiny_index: Path) -> None:
    retriever = FixedRetriever()
    eng = Engine.from_index(tiny_index, generator="none", retriever=retriever)
    other = eng.with_config(retrieval="bm25", reranker="none")
    assert other.stages().retriever is retriever  # passed by the caller: never rebuilt
    plain = Engine.from_index(tiny_index, generator="none")
    assert plain.stages().retriever.mode == "hybrid"
    assert plain.with_config(retrieval="bm25").stages().retriever.mode == "bm25"
    assert plain.with_config(seed=3).stages().retriever is plain.stages().retriever  # unchanged: shared


def test_an_unknown_stage_is_refused_with_the_names(tiny_index: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown stage 'retreiver'.*retriever, reranker"):
        Engine.from_index(tiny_index, generator="none", retreiver=FixedRetriever())
    assert STAGE_NAMES == ("retriever", "reranker", "rewriter", "augmenter", "cache", "selector")
