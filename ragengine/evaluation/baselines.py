"""The two baselines ragengine is measured against, at matched budgets and on the same chunks.

- ``TopKSelector`` ("topk"): the fused candidates in rank order, k = the longest prefix that fits
  the budget. It stops at the first candidate that does not fit, where greedy skips it and goes
  on: the plain "retrieve top-k, then read" pipeline, with k chosen per budget.
- ``LlamaIndexBaseline`` ("llamaindex"): a stock llama-index pipeline: ``VectorStoreIndex`` over
  the same chunk texts with the same embedder, its default retriever (``similarity_top_k=2``),
  the default ``compact`` response synthesizer and its default QA prompt, answered by the same
  generator (SmolLM2 through llama.cpp with the model's chat template, temperature 0, 32 new
  tokens). It does not obey budgets; its context and prompt tokens are counted exactly (the
  SmolLM2 tokenizer for the context, llama.cpp's usage report for the prompt) and reported.

Cost: ``LlamaIndexBaseline`` embeds every chunk once when built (~3-10 s for SQuAD dev's
chunks with the ONNX MiniLM), then one query embedding and one LLM call per question.

>>> from ragengine.testing import make_candidates
>>> from ragengine.select.base import SelectionInput
>>> cands = make_candidates(["a b", "c d e", "f"])
>>> [c.chunk.text for c in TopKSelector().select(SelectionInput("q", cands, [2, 3, 1], 3)).chosen]
['a b']
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragengine.embed.base import Embedder
from ragengine.errors import InvalidInput
from ragengine.select.base import SelectionInput, make_selection
from ragengine.tokens import TokenCounter
from ragengine.types import Chunk, Selection


class TopKSelector:
    """Take candidates in rank order while they fit; stop at the first that does not."""

    name = "topk"

    def select(self, inp: SelectionInput) -> Selection:
        left = inp.budget_tokens
        order: list[int] = []
        for i, cost in enumerate(inp.costs):
            if cost > left:
                break
            order.append(i)
            left -= cost
        return make_selection(inp, order, self.name, k=len(order))


# A completion backend: prompt -> (text, prompt tokens, completion tokens).
Backend = Callable[[str], tuple[str, int, int]]

_RULE = "---------------------\n"


def llama_cpp_backend(llama: Any, *, max_tokens: int = 32, temperature: float = 0.0, seed: int = 0) -> Backend:
    """Complete a prompt with a loaded ``llama_cpp.Llama``, wrapped in the model's chat template as one user turn.

    The KV cache is reset before each call, as ``LlamaCppGenerator`` does, so answers do not
    depend on the previous question.
    """

    def complete(prompt: str) -> tuple[str, int, int]:
        llama.reset()
        out = llama.create_chat_completion(
            messages=[{"role": "user", "content": prompt}], temperature=temperature, max_tokens=max_tokens, seed=seed
        )
        usage = out.get("usage") or {}
        text = out["choices"][0]["message"].get("content") or ""
        return text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))

    return complete


def _llm_class() -> type:
    from llama_index.core.base.llms.types import CompletionResponse, CompletionResponseGen, LLMMetadata
    from llama_index.core.llms import CustomLLM
    from llama_index.core.llms.callbacks import llm_completion_callback
    from pydantic import PrivateAttr

    class BackendLLM(CustomLLM):
        """A llama-index LLM over a completion backend; records every call's prompt and usage."""

        context_window: int = 2048
        num_output: int = 32
        model_name: str = "SmolLM2-135M-Instruct"
        _backend: Any = PrivateAttr()
        _calls: list[dict[str, Any]] = PrivateAttr(default_factory=list)

        def __init__(self, backend: Backend, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._backend = backend
            self._calls = []

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(
                context_window=self.context_window, num_output=self.num_output, model_name=self.model_name
            )

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            t = time.perf_counter()
            text, p_tok, c_tok = self._backend(prompt)
            ms = (time.perf_counter() - t) * 1000
            self._calls.append({"prompt": prompt, "prompt_tokens": p_tok, "completion_tokens": c_tok, "ms": ms})
            return CompletionResponse(text=text)

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
            response = self.complete(prompt, formatted=formatted)

            def gen() -> CompletionResponseGen:
                yield CompletionResponse(text=response.text, delta=response.text)

            return gen()

    return BackendLLM


def context_of_prompt(prompt: str) -> str | None:
    """The ``{context_str}`` of llama-index's default QA prompt (between its two rules), or None."""
    start = prompt.find(_RULE)
    if start < 0:
        return None
    end = prompt.find(f"\n{_RULE}", start + len(_RULE))
    if end < 0:
        return None
    return prompt[start + len(_RULE) : end]


@dataclass
class LlamaIndexResult:
    """One llama-index answer with what it cost. ``doc_ids``/``chunk_ids`` are its retrieved nodes, best first."""

    answer: str
    context: str
    context_tokens: int
    prompt_tokens: int
    completion_tokens: int
    llm_calls: int
    chunk_ids: list[str]
    doc_ids: list[str]
    retrieve_ms: float
    generate_ms: float
    prompts: list[str] = field(default_factory=list)


class LlamaIndexBaseline:
    """Stock llama-index over ragengine's chunks: ``query(question)`` -> ``LlamaIndexResult``.

    ``backend`` None means no generator: only the default retriever runs (gold-in-context
    without answers). Built lazily on the first query.
    """

    def __init__(
        self,
        chunks: Sequence[Chunk],
        embedder: Embedder,
        counter: TokenCounter,
        backend: Backend | None,
        *,
        similarity_top_k: int = 2,
        max_new_tokens: int = 32,
        context_window: int = 2048,
    ) -> None:
        if not chunks:
            raise InvalidInput("the llama-index baseline needs at least one chunk")
        if similarity_top_k <= 0:
            raise InvalidInput(f"similarity_top_k must be > 0, got {similarity_top_k}")
        self.chunks = list(chunks)
        self.embedder = embedder
        self.counter = counter
        self.backend = backend
        self.similarity_top_k = similarity_top_k
        self.max_new_tokens = max_new_tokens
        self.context_window = context_window
        self._index: Any = None
        self._engine: Any = None
        self._retriever: Any = None
        self._llm: Any = None
        self._question = ""

    def build(self) -> LlamaIndexBaseline:
        """Embed the chunks into a ``VectorStoreIndex`` (once) and set up the query engine."""
        if self._index is None:
            from llama_index.core import VectorStoreIndex
            from llama_index.core.schema import TextNode

            by_id = {c.chunk_id: c for c in self.chunks}
            nodes = [
                TextNode(
                    text=c.text,
                    id_=c.chunk_id,
                    metadata={"doc_id": c.doc_id},
                    excluded_embed_metadata_keys=["doc_id"],
                    excluded_llm_metadata_keys=["doc_id"],
                )
                for c in by_id.values()
            ]
            from ragengine.integrations.llama_index import RagEngineEmbedding

            embed = RagEngineEmbedding(self.embedder, embed_batch_size=64)  # the index's own embedder
            self._index = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
            self._retriever = self._index.as_retriever(similarity_top_k=self.similarity_top_k)
        if self.backend is not None and self._engine is None:
            self._llm = _llm_class()(self.backend, context_window=self.context_window, num_output=self.max_new_tokens)
            self._engine = self._index.as_query_engine(llm=self._llm, similarity_top_k=self.similarity_top_k)
        return self

    def with_backend(self, backend: Backend | None) -> LlamaIndexBaseline:
        """A baseline over the same built index with another backend (the chunks are embedded once)."""
        self.build()
        other = copy.copy(self)
        other.backend, other._engine, other._llm = backend, None, None
        return other.build()

    def query(self, question: str) -> LlamaIndexResult:
        from llama_index.core.schema import MetadataMode

        self.build()
        self._question = question
        t = time.perf_counter()
        if self._engine is None:
            nodes = self._retriever.retrieve(question)
            retrieve_ms = (time.perf_counter() - t) * 1000
            context = "\n\n".join(n.node.get_content(metadata_mode=MetadataMode.LLM).strip() for n in nodes)
            return LlamaIndexResult(
                answer="",
                context=context,
                context_tokens=self.counter.count(context),
                prompt_tokens=0,
                completion_tokens=0,
                llm_calls=0,
                chunk_ids=[n.node.node_id for n in nodes],
                doc_ids=[str(n.node.metadata.get("doc_id", "")) for n in nodes],
                retrieve_ms=retrieve_ms,
                generate_ms=0.0,
            )
        self._llm._calls = []
        response = self._engine.query(question)
        total_ms = (time.perf_counter() - t) * 1000
        calls = list(self._llm._calls)
        nodes = list(response.source_nodes)
        contexts = [context_of_prompt(c["prompt"]) for c in calls]
        if calls and all(ctx is not None for ctx in contexts):
            context = "\n\n".join(ctx for ctx in contexts if ctx is not None)
            context_tokens = sum(self.counter.count(ctx) for ctx in contexts if ctx is not None)
        else:  # a custom template: fall back to the retrieved texts as the compact synthesizer joins them
            context = "\n\n".join(n.node.get_content(metadata_mode=MetadataMode.LLM).strip() for n in nodes)
            context_tokens = self.counter.count(context)
        generate_ms = sum(c["ms"] for c in calls)
        return LlamaIndexResult(
            answer=(response.response or "").strip(),
            context=context,
            context_tokens=context_tokens,
            prompt_tokens=sum(c["prompt_tokens"] for c in calls),
            completion_tokens=sum(c["completion_tokens"] for c in calls),
            llm_calls=len(calls),
            chunk_ids=[n.node.node_id for n in nodes],
            doc_ids=[str(n.node.metadata.get("doc_id", "")) for n in nodes],
            retrieve_ms=max(total_ms - generate_ms, 0.0),
            generate_ms=generate_ms,
            prompts=[c["prompt"] for c in calls],
        )


def generator_backend(generator: Any, baseline: LlamaIndexBaseline, max_tokens: int) -> Backend:
    """A backend for a generator without a raw completion API (extractive, echo): it answers the
    current question from the context llama-index placed in the prompt; prompt tokens are the
    generator's own count (0 for generators that spend no LLM tokens)."""

    def complete(prompt: str) -> tuple[str, int, int]:
        ctx = context_of_prompt(prompt)
        gen = generator.generate(baseline._question, [ctx if ctx is not None else prompt], max_tokens=max_tokens)
        return gen.text, gen.prompt_tokens, gen.completion_tokens

    return complete
