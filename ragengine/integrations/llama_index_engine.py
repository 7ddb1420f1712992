"""llama-index adapters over a ragengine ``Engine``: its index as a retriever, its reader as an LLM.

``RagEngineRetriever`` returns the engine's candidates (hybrid BM25 + FAISS, term re-rank) as
nodes, so a corpus indexed by ragengine is used by llama-index without embedding it again.
``RagEngineLLM`` is the engine's local reader (llama.cpp) as a llama-index LLM, so a query
engine needs no ``llama-index-llms-*`` package and no server. Together with
``TokenBudgetPostprocessor`` a llama-index query runs under a hard token budget:

>>> engine = Engine.from_index("mydocs")                                      # doctest: +SKIP
>>> qe = RetrieverQueryEngine.from_args(                                      # doctest: +SKIP
...     RagEngineRetriever(engine, k=30), llm=RagEngineLLM(engine),
...     node_postprocessors=[TokenBudgetPostprocessor(256, strategy="evidence")])
>>> qe.query("How do I declare a path parameter?")                            # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import CompletionResponse, CompletionResponseGen, LLMMetadata
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ragengine import Engine
from ragengine.errors import InvalidInput


class RagEngineRetriever(BaseRetriever):
    """The engine's ranked candidates for a query, as llama-index nodes (best first, at most ``k``)."""

    def __init__(self, engine: Engine, k: int = 30, **kwargs: Any) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
            raise InvalidInput(f"k must be a positive int, got {k!r}")
        super().__init__(**kwargs)
        self._engine = engine.with_config(candidates=k) if k != engine.config.candidates else engine
        self._k = k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        got = self._engine.retrieve(query_bundle.query_str)
        out = []
        for c in got.candidates[: self._k]:
            meta = {"doc_id": c.chunk.doc_id, **{k: v for k, v in c.chunk.metadata.items() if k == "title"}}
            node = TextNode(
                id_=c.chunk.chunk_id,
                text=c.chunk.text,
                metadata=meta,
                excluded_llm_metadata_keys=list(meta),
                excluded_embed_metadata_keys=list(meta),
            )
            node.relationships = {}
            out.append(NodeWithScore(node=node, score=float(c.score)))
        return out


class RagEngineLLM(CustomLLM):
    """The engine's local llama.cpp reader as a llama-index LLM (``complete`` and ``stream_complete``).

    The prompt llama-index builds (its template, the nodes' text, the question) is sent as one
    user turn through the reader's chat template. Answers end, as the engine's do, at the end of
    the first line with content or at ``max_new_tokens`` (the engine's setting).
    """

    _engine: Engine = PrivateAttr()

    def __init__(self, engine: Engine, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(getattr(engine.generator, "complete", None)):
            name = getattr(engine.generator, "name", None)
            raise InvalidInput(f"RagEngineLLM needs the engine's llm generator (a local reader), not {name!r}")
        self._engine = engine

    @property
    def metadata(self) -> LLMMetadata:
        gen: Any = self._engine.generator
        return LLMMetadata(
            context_window=int(getattr(gen, "n_ctx", 2048)),
            num_output=self._engine.config.max_new_tokens,
            model_name=str(getattr(gen, "model_name", "ragengine")),
        )

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        gen: Any = self._engine.generator
        out = gen.complete(prompt, max_tokens=self._engine.config.max_new_tokens)
        return CompletionResponse(text=out.text, raw={"prompt_tokens": out.prompt_tokens, "model": out.model})

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        pieces: list[str] = []
        gen: Any = self._engine.generator
        out = gen.complete(prompt, max_tokens=self._engine.config.max_new_tokens, on_text=pieces.append)
        text = ""
        for piece in pieces or [out.text]:
            text += piece
            yield CompletionResponse(text=text, delta=piece)
