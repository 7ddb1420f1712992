"""A ragengine index as a LangChain retriever and the token-budget selector as a LangChain document
compressor, inside a real LCEL chain (retriever -> compressor -> prompt) over the demo index."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from ragengine import Engine
from ragengine.errors import InvalidInput
from ragengine.integrations.langchain import RagEngineRetriever, TokenBudgetCompressor
from ragengine.tokens import get_token_counter

pytestmark = pytest.mark.integration
Q = "When was Sky Digital launched?"


def test_a_chain_over_a_ragengine_index_keeps_the_evidence_under_the_budget(demo_index: Path) -> None:
    engine = Engine.from_index(demo_index, generator="none")
    retriever = RagEngineRetriever(engine=engine, k=20)
    docs = retriever.invoke(Q)
    assert len(docs) == 20 and docs[0].metadata["doc_id"].startswith("Sky_(United_Kingdom)")
    assert {d.id for d in docs} <= {c.chunk_id for c in engine.index.chunks}  # the index's own chunks
    compressor = TokenBudgetCompressor(budget_tokens=96, strategy="evidence")
    prompt = ChatPromptTemplate.from_template("Context:\n{context}\n\nQuestion: {question}")
    chain = {
        "context": retriever
        | RunnableLambda(lambda d: "\n\n".join(x.page_content for x in compressor.compress_documents(d, Q))),
        "question": RunnablePassthrough(),
    } | prompt
    text = chain.invoke(Q).to_messages()[0].content
    context = text.split("Context:\n", 1)[1].split("\n\nQuestion:", 1)[0]
    assert "1998" in context
    spent = compressor.last_selection
    assert spent is not None and spent.context_tokens <= 96
    assert get_token_counter("smollm2-135m-instruct").count(context) <= 96


def test_chunk_strategies_keep_whole_documents_in_the_selectors_order() -> None:
    docs = [Document(page_content=f"Document number {i} says {'word ' * 30}", id=str(i)) for i in range(6)]
    comp = TokenBudgetCompressor(budget_tokens=80, strategy="greedy", tokenizer="whitespace")
    kept = comp.compress_documents(docs, "anything")
    assert kept and all(k in docs for k in kept) and len(kept) < len(docs)
    assert comp.last_selection is not None and comp.last_selection.context_tokens <= 80
    assert comp.compress_documents([], "q") == []


def test_bad_settings_are_refused(demo_index: Path) -> None:
    with pytest.raises(InvalidInput, match="budget_tokens must be a positive int"):
        TokenBudgetCompressor(budget_tokens=0)
    with pytest.raises(InvalidInput, match="unknown"):
        TokenBudgetCompressor(budget_tokens=10, strategy="nope")
    with pytest.raises(InvalidInput, match="k must be a positive int"):
        RagEngineRetriever(engine=Engine.from_index(demo_index, generator="none"), k=0)
