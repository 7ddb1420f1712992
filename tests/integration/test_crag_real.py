"""CRAG, rewriting and the answer cache with the real models on the XQuAD demo index."""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ragengine import Budget, Engine, EngineConfig
from ragengine.cache import SemanticCache
from ragengine.cluster import ClusterAugmenter, build_clusters, context_doc_ids, granularity, load_clusters
from ragengine.cluster import save_clusters as save
from ragengine.evaluation.datasets import load_squad
from ragengine.evaluation.metrics import answer_in_context
from ragengine.generate.prompt import format_context
from ragengine.rewrite import PRFRewriter, fuse_retrievals
from tests.conftest import XQUAD

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def crag_demo(demo_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crag") / "demo"
    shutil.copytree(demo_index, folder)
    eng = Engine.from_index(folder, generator="none")
    idx = eng.index
    save(folder, build_clusters(idx.chunks, np.asarray(idx.vectors), eng.counter, embedder=eng.embedder, seed=0))
    return folder


def test_real_clusters_are_deterministic_and_summaries_exact(crag_demo: Path) -> None:
    eng = Engine.from_index(crag_demo, generator="none", config=EngineConfig(clusters="off"))
    cs = load_clusters(crag_demo, eng.index.chunks)
    again = build_clusters(eng.index.chunks, np.asarray(eng.index.vectors), eng.counter, embedder=eng.embedder, seed=0)
    assert np.array_equal(cs.assign, again.assign)
    assert [s.text for s in cs.summaries] == [s.text for s in again.summaries]
    for s in cs.summaries:
        assert s.n_tokens == eng.counter.count(s.text) <= cs.params["summary_cap_tokens"]


def test_crag_candidates_keep_budget_and_cite_sources(crag_demo: Path) -> None:
    eng = Engine.from_index(crag_demo, generator="none", config=EngineConfig(clusters="off"))
    aug = ClusterAugmenter(eng.index, load_clusters(crag_demo, eng.index.chunks), eng.counter)
    exs = load_squad(XQUAD)[::40][:30]
    doc_ids = {c.doc_id for c in eng.index.chunks}
    plain_hits = crag_hits = 0
    for ex in exs:
        ret = eng.retrieve(ex.question)
        out = aug.augment(ex.question, ret)
        for c in out.candidates:
            assert c.chunk.n_tokens == eng.counter.count(c.chunk.text)
            assert set(context_doc_ids(c.chunk)) <= doc_ids
        crag = replace(out, query_vector=None)
        for budget in (64, 128):
            ans = eng.ask(ex.question, Budget(context_tokens=budget), retrieved=crag, strategy="greedy")
            assert ans.cost.context_tokens <= budget
        ans = eng.ask(ex.question, Budget(context_tokens=96), retrieved=crag, strategy="greedy")
        crag_hits += answer_in_context(format_context([c.text for c in ans.citations]), ex.answers)
        plain = eng.ask(ex.question, Budget(context_tokens=96), retrieved=ret, strategy="greedy")
        plain_hits += answer_in_context(format_context([c.text for c in plain.citations]), ex.answers)
        assert any(granularity(c.chunk) == "excerpt" for c in out.candidates)
    # for chunk selection, sentence excerpts fit a 96-token budget where whole 128-token chunks mostly cannot
    assert crag_hits > plain_hits


def test_prf_fusion_keeps_the_original_hits(crag_demo: Path) -> None:
    eng = Engine.from_index(crag_demo, generator="none", config=EngineConfig(clusters="off"))
    prf = PRFRewriter(eng.index)
    ex = load_squad(XQUAD)[0]
    rw = prf.rewrite(ex.question)
    assert len(rw.queries) == 2 and rw.expansion and rw.tokens == 0
    base = eng.retrieve(ex.question)
    fused = fuse_retrievals([eng.retrieve(q) for q in rw.queries], limit=30)
    top = {c.chunk.chunk_id for c in fused.candidates}
    assert base.candidates[0].chunk.chunk_id in top


def test_real_cache_separates_questions_of_one_paragraph(crag_demo: Path, tmp_path: Path) -> None:
    eng = Engine.from_index(crag_demo, generator="none", config=EngineConfig(clusters="off"))
    by = defaultdict(list)
    for ex in load_squad(XQUAD):
        by[ex.gold_doc_ids[0]].append(ex)
    groups = [qs for qs in by.values() if len(qs) >= 3][:40]
    cache = SemanticCache(tmp_path, eng.manifest.version, eng.embedder, threshold=0.9)
    for qs in groups:
        cache.store(qs[0].question, qs[0].answers[0], [], qs[0].gold_doc_ids, 0, persist=False)
    assert all(cache.lookup(qs[0].question) is not None for qs in groups)
    served = [(o.question, cache.lookup(o.question)) for qs in groups for o in qs[1:]]
    wrong = [(q, h.entry.question) for q, h in served if h is not None and h.entry.question.strip() != q.strip()]
    assert not wrong, wrong[:3]
    stale = SemanticCache(tmp_path, eng.manifest.version + "-changed", eng.embedder)
    assert stale.lookup(groups[0][0].question) is None


@pytest.mark.slow
def test_llm_rewriter_with_smollm2_validates_or_falls_back() -> None:
    pytest.importorskip("llama_cpp")
    from ragengine.generate.llama_cpp import LlamaCppGenerator
    from ragengine.rewrite import LLMRewriter

    rw = LLMRewriter(LlamaCppGenerator(), max_tokens=48).rewrite("Who directed the film that won Best Picture in 1998?")
    assert rw.llm_calls == 1 and rw.tokens_in > 100 and rw.tokens_out > 0
    assert rw.queries[0] == "Who directed the film that won Best Picture in 1998?"
    assert (len(rw.queries) > 1) != bool(rw.fallback)


def test_engine_with_clusters_auto_uses_the_real_clusters_within_budget(crag_demo: Path) -> None:
    eng = Engine.from_index(crag_demo, generator="none")  # clusters auto: the index has them
    q = load_squad(XQUAD)[7].question
    ans = eng.ask(q, Budget(context_tokens=96), strategy="mcts")
    assert ans.trace["clusters"] is True and ans.cost.context_tokens <= 96
    grans = {granularity(c.chunk) for c in eng.retrieve(q).candidates}
    assert {"excerpt", "chunk"} <= grans
