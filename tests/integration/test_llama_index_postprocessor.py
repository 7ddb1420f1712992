"""TokenBudgetPostprocessor inside a real llama-index query pipeline (VectorStoreIndex, MiniLM, MockLLM).

MockLLM without ``max_tokens`` replies with the prompt it was given, so the response text is the
exact prompt the LLM saw: the test reads the context out of it and counts its tokens.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode

from ragengine.errors import InvalidInput
from ragengine.integrations.llama_index import RagEngineEmbedding, TokenBudgetPostprocessor
from ragengine.select.registry import STRATEGIES
from ragengine.tokens import get_token_counter
from tests.conftest import XQUAD

MARK = "---------------------\n"  # llama-index's default QA template fences the context with this line


def _xquad_nodes(articles: int = 3) -> list[TextNode]:
    data = json.loads(XQUAD.read_text(encoding="utf-8"))["data"][:articles]
    return [
        TextNode(text=p["context"], id_=f"{a['title']}#{i}", metadata={"title": a["title"]})
        for a in data
        for i, p in enumerate(a["paragraphs"])
    ]


@pytest.fixture(scope="module")
def xquad_index() -> VectorStoreIndex:
    return VectorStoreIndex(_xquad_nodes(), embed_model=RagEngineEmbedding("minilm-onnx-int8"))


def _context_of(prompt: str) -> str:
    parts = prompt.split(MARK)
    assert len(parts) == 3, f"unexpected prompt layout: {prompt[:300]!r}"
    return parts[1].removesuffix("\n")


@pytest.mark.integration
@pytest.mark.parametrize("strategy", ["greedy", "mcts"])
def test_query_pipeline_sends_only_the_chosen_nodes_within_budget(xquad_index: VectorStoreIndex, strategy: str) -> None:
    post = TokenBudgetPostprocessor(budget_tokens=200, strategy=strategy)
    engine = xquad_index.as_query_engine(llm=MockLLM(), similarity_top_k=10, node_postprocessors=[post])
    response = engine.query("How many points did the Panthers defense surrender?")

    chosen = response.source_nodes
    sel = post.last_selection
    assert sel is not None and 0 < len(chosen) < 10  # 10 paragraphs of ~150 tokens cannot fit in 200
    assert [n.node.node_id for n in chosen] == sel.stats["node_ids"]
    assert sel.strategy == strategy
    context = _context_of(str(response.response))
    expected = "\n\n".join(n.node.get_content(metadata_mode=MetadataMode.LLM).strip() for n in chosen)
    assert context == expected  # the LLM saw exactly the chosen nodes, nothing else
    used = get_token_counter("smollm2-135m-instruct").count(context)
    assert used == sel.context_tokens <= 200
    assert "Super_Bowl_50" in context  # retrieval still works: the question's article leads the context


@pytest.mark.integration
def test_evidence_sends_one_titled_block_per_document_within_budget(xquad_index: VectorStoreIndex) -> None:
    post = TokenBudgetPostprocessor(budget_tokens=96, strategy="evidence")
    engine = xquad_index.as_query_engine(llm=MockLLM(), similarity_top_k=10, node_postprocessors=[post])
    response = engine.query("How many points did the Panthers defense surrender?")
    sel = post.last_selection
    assert sel is not None and sel.strategy == "evidence"
    context = _context_of(str(response.response))
    assert get_token_counter("smollm2-135m-instruct").count(context) == sel.context_tokens <= 96
    blocks = [n.node for n in response.source_nodes]
    sources = [tuple(b.metadata["source_node_ids"]) for b in blocks]  # each paragraph node is its own document
    assert blocks and len(set(sources)) == len(blocks)  # one block per document
    assert context.startswith(blocks[0].metadata["title"] + "\n")
    assert "308" in context  # the sentence that answers it ("allowing just 308 points") is chosen


@pytest.mark.integration
def test_every_strategy_keeps_the_budget_on_real_nodes(xquad_index: VectorStoreIndex) -> None:
    retriever = xquad_index.as_retriever(similarity_top_k=12)
    nodes = retriever.retrieve("Which city hosted the Super Bowl and who won it?")
    counter = get_token_counter("smollm2-135m-instruct")
    for strategy in STRATEGIES:
        for budget in (40, 128, 300):
            post = TokenBudgetPostprocessor(budget_tokens=budget, strategy=strategy)
            kept = post.postprocess_nodes(nodes, query_str="Which city hosted the Super Bowl and who won it?")
            text = "\n\n".join(n.node.get_content(metadata_mode=MetadataMode.LLM).strip() for n in kept)
            assert counter.count(text) <= budget, (strategy, budget)
            ids = {n.node.node_id for n in nodes}
            for n in kept:  # a node given, or (evidence) a block of sentences naming the nodes it came from
                assert n.node.node_id in ids or set(n.node.metadata["source_node_ids"]) <= ids


@pytest.mark.integration
def test_embedding_adapter_matches_ragengine_vectors() -> None:
    from ragengine.embed.registry import get_embedder

    emb = RagEngineEmbedding()
    vec = emb.get_text_embedding("Denver Broncos")
    ref = get_embedder("minilm-onnx-int8").embed(["Denver Broncos"])[0]
    assert len(vec) == ref.shape[0] == 384
    assert max(abs(a - float(b)) for a, b in zip(vec, ref, strict=True)) < 1e-6
    assert emb.get_text_embedding_batch(["a", "b"])[1] == emb.get_query_embedding("b")


# -- fast checks on the whitespace tokenizer (no model) ------------------------------------------


def _nodes(texts: list[str], scores: list[float | None]) -> list[NodeWithScore]:
    return [
        NodeWithScore(node=TextNode(text=t, id_=f"n{i}"), score=s)
        for i, (t, s) in enumerate(zip(texts, scores, strict=True))
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budget_tokens": 0}, "budget_tokens must be a positive int, got 0"),
        ({"budget_tokens": -5}, "budget_tokens must be a positive int"),
        ({"budget_tokens": True}, "budget_tokens must be a positive int, got True"),
        ({"budget_tokens": "256"}, "budget_tokens must be a positive int"),
        ({"budget_tokens": 64, "strategy": "best"}, "unknown selection strategy 'best'; valid names: greedy"),
        ({"budget_tokens": 64, "strategy": 3}, "strategy must be a selector name"),
        ({"budget_tokens": 64, "tokenizer": "gpt9"}, "unknown tokenizer 'gpt9'"),
        ({"budget_tokens": 64, "seed": -1}, "seed must be an int >= 0"),
        ({"budget_tokens": 64, "strategy": "mcts", "selector_options": {"iterations": 0}}, "iterations must be"),
        ({"budget_tokens": 64, "strategy": "greedy", "selector_options": {"depth": 3}}, "bad options for strategy"),
    ],
)
def test_invalid_arguments_are_rejected_with_the_fix(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        TokenBudgetPostprocessor(**kwargs)


def test_embedding_adapter_rejects_a_non_embedder() -> None:
    with pytest.raises(InvalidInput, match="embedder must be a name"):
        RagEngineEmbedding(embedder=42)  # type: ignore[arg-type]


def test_no_nodes_gives_no_nodes_and_says_why() -> None:
    post = TokenBudgetPostprocessor(budget_tokens=10, tokenizer="whitespace")
    assert post.postprocess_nodes([], query_str="q") == []
    assert post.last_selection is not None and post.last_selection.reason == "no candidates were retrieved"


def test_greedy_keeps_rank_order_and_skips_what_does_not_fit() -> None:
    nodes = _nodes(["a b c d e", "f g h i j k l", "m n", "o p q"], [0.9, 0.8, None, 0.1])
    post = TokenBudgetPostprocessor(budget_tokens=10, tokenizer="whitespace")
    kept = post.postprocess_nodes(nodes, query_bundle=QueryBundle("q"))
    assert [n.node.node_id for n in kept] == ["n0", "n2", "n3"]  # n1 (7 tokens) no longer fits
    sel = post.last_selection
    assert sel is not None and sel.context_tokens == 10 and sel.stats["estimated_tokens"] == 10
    assert nodes[2].score is None and kept[1] is nodes[2]  # nodes are passed through untouched


def test_reassigning_the_strategy_takes_effect() -> None:
    nodes = _nodes(["paris is the capital", "paris capital city", "the seine river flows"], [0.9, 0.8, 0.7])
    post = TokenBudgetPostprocessor(budget_tokens=8, tokenizer="whitespace")
    post.strategy = "mcts"
    post.postprocess_nodes(nodes, query_str="capital paris seine river")
    assert post.last_selection is not None and post.last_selection.strategy == "mcts"


def test_mcts_prefers_the_combination_that_covers_the_question() -> None:
    nodes = _nodes(["paris is the capital", "paris capital city", "the seine river flows"], [0.9, 0.8, 0.7])
    post = TokenBudgetPostprocessor(budget_tokens=8, strategy="mcts", tokenizer="whitespace")
    kept = post.postprocess_nodes(nodes, query_str="capital paris seine river")
    assert [n.node.node_id for n in kept] == ["n0", "n2"]
    greedy = TokenBudgetPostprocessor(budget_tokens=8, tokenizer="whitespace").postprocess_nodes(
        nodes, query_str="capital paris seine river"
    )
    assert [n.node.node_id for n in greedy] == ["n0", "n1"]


def test_metadata_rendered_for_the_llm_is_counted() -> None:
    node = TextNode(text="one two", metadata={"title": "three four five"})
    post = TokenBudgetPostprocessor(budget_tokens=5, tokenizer="whitespace")
    assert post.postprocess_nodes([NodeWithScore(node=node, score=1.0)], query_str="q") == []  # 7 tokens
    node.excluded_llm_metadata_keys = ["title"]
    assert len(post.postprocess_nodes([NodeWithScore(node=node, score=1.0)], query_str="q")) == 1


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=30), min_size=0, max_size=15),
    budget=st.integers(min_value=1, max_value=80),
    strategy=st.sampled_from(STRATEGIES),
)
def test_budget_is_never_exceeded_and_the_same_seed_gives_the_same_nodes(
    sizes: list[int], budget: int, strategy: str
) -> None:
    texts = [" ".join(f"w{i}x{j}" for j in range(n)) for i, n in enumerate(sizes)]
    nodes = _nodes(texts, [1.0 / (i + 1) for i in range(len(texts))])
    runs = []
    for _ in range(2):
        post = TokenBudgetPostprocessor(budget_tokens=budget, strategy=strategy, tokenizer="whitespace", seed=3)
        kept = post.postprocess_nodes(nodes, query_str="w0x1 w3x2 w5x0")
        assert sum(len(n.node.get_content().split()) for n in kept) <= budget
        assert len({n.node.node_id for n in kept}) == len(kept)
        runs.append([n.node.node_id for n in kept])
    assert runs[0] == runs[1]
