"""A ragengine index as a llama-index retriever and its local reader as a llama-index LLM: a query
engine over the demo index with no second embedding pass and no llama-index LLM package."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.query_engine import RetrieverQueryEngine

from ragengine import Engine
from ragengine.errors import InvalidInput
from ragengine.integrations.llama_index import TokenBudgetPostprocessor
from ragengine.integrations.llama_index_engine import RagEngineLLM, RagEngineRetriever

pytestmark = pytest.mark.integration


def test_a_query_engine_over_a_ragengine_index_answers_under_the_budget(demo_index: Path) -> None:
    engine = Engine.from_index(demo_index, generator="llm", generator_options={"reader": "smollm2"})
    retriever = RagEngineRetriever(engine, k=20)
    nodes = retriever.retrieve("When was Sky Digital launched?")
    assert len(nodes) == 20 and nodes[0].node.metadata["doc_id"].startswith("Sky_(United_Kingdom)")
    assert {n.node.node_id for n in nodes} <= {c.chunk_id for c in engine.index.chunks}  # the index's own chunks
    post = TokenBudgetPostprocessor(budget_tokens=128, strategy="evidence")
    qe = RetrieverQueryEngine.from_args(retriever, llm=RagEngineLLM(engine), node_postprocessors=[post])
    response = qe.query("When was Sky Digital launched?")
    assert post.last_selection is not None and post.last_selection.context_tokens <= 128
    assert "1998" in " ".join(n.node.get_content() for n in response.source_nodes)
    assert str(response).strip()  # SmolLM2 answers; its accuracy is the reader's, not the adapter's
    streamed = list(RagEngineLLM(engine).stream_complete("Say the word yes."))
    assert streamed and streamed[-1].text == "".join(r.delta or "" for r in streamed)


def test_the_llm_adapter_needs_a_local_reader(demo_index: Path) -> None:
    with pytest.raises(InvalidInput, match="needs the engine's llm generator"):
        RagEngineLLM(Engine.from_index(demo_index, generator="extractive"))
    with pytest.raises(InvalidInput, match="k must be a positive int"):
        RagEngineRetriever(Engine.from_index(demo_index, generator="none"), k=0)
