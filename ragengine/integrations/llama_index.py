"""llama-index adapters: the token-budget selector as a node postprocessor, and ragengine's embedder.

Why: a llama-index app already has retrieval and a response synthesizer; what it lacks is a hard
limit on how many context tokens reach the LLM. ``TokenBudgetPostprocessor`` drops in after any
retriever and keeps the combination of nodes a ragengine selector (greedy, DOS, MMR, knapsack,
MCTS) picks under ``budget_tokens``. A node costs the tokens of its text as the response
synthesizer puts it in the prompt (``node.get_content(MetadataMode.LLM)``, stripped, metadata
included) plus one ``"\\n\\n"`` separator, counted with the generator's own tokenizer; the joined
context is then re-counted exactly and trimmed, so it never exceeds the budget.

Cost: one token count per node (the SmolLM2 tokenizer: ~0.1 ms per 100-token node) plus the
selector (greedy O(n); MCTS ~15 ms for 30 nodes).

>>> from llama_index.core import VectorStoreIndex  # doctest: +SKIP
>>> index = VectorStoreIndex(nodes, embed_model=RagEngineEmbedding())  # doctest: +SKIP
>>> engine = index.as_query_engine(  # doctest: +SKIP
...     llm=my_llm, similarity_top_k=30,
...     node_postprocessors=[TokenBudgetPostprocessor(budget_tokens=256, strategy="mcts")])
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode

from ragengine.embed.base import Embedder
from ragengine.embed.registry import get_embedder
from ragengine.errors import InvalidInput
from ragengine.generate.prompt import separator_cost
from ragengine.integrations.budgeted import select_under_budget
from ragengine.select.base import Selector
from ragengine.select.registry import get_selector
from ragengine.tokens import get_token_counter
from ragengine.types import Candidate, Selection

__all__ = ["RagEngineEmbedding", "TokenBudgetPostprocessor", "separator_cost"]


def _check_int(name: str, value: object, *, positive: bool, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (positive and value <= 0) or value < 0:
        need = "a positive int" if positive else "an int >= 0"
        raise InvalidInput(f"{name} must be {need}, got {value!r}; {fix}")
    return value


class TokenBudgetPostprocessor(BaseNodePostprocessor):
    """Keep the nodes a ragengine selector chooses under ``budget_tokens``, in the selector's order.

    Fields: ``budget_tokens`` (context tokens, > 0), ``strategy`` (any name of
    ``ragengine.select.registry``: greedy, dos, mmr, knapsack, mcts), ``tokenizer`` (the
    generator's tokenizer: smollm2-135m-instruct, o200k_base, cl100k_base, whitespace), ``seed``
    (randomised selectors), ``selector_options`` (keyword arguments of the selector, e.g.
    ``{"iterations": 500}``), ``metadata_mode`` (how the synthesizer renders a node: LLM).

    Nodes keep their input order as rank (best first, as retrievers return them); a node without
    a score gets ``1 / (rank + 1)``. Node and query embeddings, when both are present, are
    handed to the selector (MMR uses them; MCTS's ``embedding`` reward needs them).

    After each call ``last_selection`` holds what was spent: the ragengine ``Selection`` whose
    ``context_tokens`` is the exact count of the joined context, with ``stats["node_ids"]``,
    ``stats["estimated_tokens"]`` (the summed per-node costs) and ``stats["select_ms"]``. Nodes
    themselves are left untouched: a metadata key would be rendered into the prompt
    (``MetadataMode.LLM``) and would change the docstore's shared node objects. With one
    postprocessor shared by concurrent queries, ``last_selection`` is the latest call's.
    """

    budget_tokens: int = Field(description="Most context tokens the kept nodes may use (exact, hard limit).")
    strategy: str = Field(default="greedy", description="Selector name: greedy, dos, mmr, knapsack, mcts or evidence.")
    tokenizer: str = Field(default="smollm2-135m-instruct", description="Tokenizer the budget is counted in.")
    seed: int = Field(default=0, description="Seed for randomised selectors (same seed, same selection).")
    selector_options: dict[str, Any] = Field(default_factory=dict, description="Keyword options of the selector.")
    metadata_mode: MetadataMode = Field(
        default=MetadataMode.LLM, description="How the response synthesizer renders a node (what is counted)."
    )

    _selector: Selector = PrivateAttr()
    _last: Selection | None = PrivateAttr(default=None)

    def __init__(
        self,
        budget_tokens: int,
        strategy: str = "greedy",
        tokenizer: str = "smollm2-135m-instruct",
        seed: int = 0,
        selector_options: dict[str, Any] | None = None,
        metadata_mode: MetadataMode = MetadataMode.LLM,
        **kwargs: Any,
    ) -> None:
        _check_int("budget_tokens", budget_tokens, positive=True, fix="pass the context tokens allowed, e.g. 256")
        _check_int("seed", seed, positive=False, fix="e.g. seed=0")
        if not isinstance(strategy, str):
            raise InvalidInput(f"strategy must be a selector name (str), got {strategy!r}")
        if not isinstance(tokenizer, str):
            raise InvalidInput(f"tokenizer must be a tokenizer name (str), got {tokenizer!r}")
        options = dict(selector_options or {})
        counter = get_token_counter(tokenizer)  # validates the name; the vocabulary loads on the first count
        selector = get_selector(strategy, counter=counter, **options)  # unknown names and bad options fail here
        fields: dict[str, Any] = {
            "budget_tokens": budget_tokens,
            "strategy": selector.name,
            "tokenizer": tokenizer,
            "seed": seed,
            "selector_options": options,
            "metadata_mode": metadata_mode,
        }
        super().__init__(**fields, **kwargs)
        self._selector = selector

    @classmethod
    def class_name(cls) -> str:
        return "TokenBudgetPostprocessor"

    @property
    def last_selection(self) -> Selection | None:
        """What the latest call chose and spent (None before the first call)."""
        return self._last

    def _vectors(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        if query_bundle is None or not query_bundle.embedding or any(n.node.embedding is None for n in nodes):
            return None, None
        q = np.asarray(query_bundle.embedding, dtype=np.float32)
        v = np.asarray([n.node.embedding for n in nodes], dtype=np.float32)
        if v.ndim != 2 or v.shape[1] != q.shape[0]:
            return None, None
        qn = float(np.linalg.norm(q)) or 1.0
        vn = np.linalg.norm(v, axis=1, keepdims=True)
        return q / qn, v / np.where(vn == 0, 1.0, vn)

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        counter = get_token_counter(self.tokenizer)
        if self._selector.name != self.strategy:  # the field was reassigned after construction
            self._selector = get_selector(self.strategy, counter=counter, **self.selector_options)
        texts = [n.node.get_content(metadata_mode=self.metadata_mode).strip() for n in nodes]
        qvec, vecs = self._vectors(nodes, query_bundle) if nodes else (None, None)
        got = select_under_budget(
            query_bundle.query_str if query_bundle is not None else "",
            texts,
            [n.node.ref_doc_id or n.node.node_id for n in nodes],
            [n.score for n in nodes],
            self.budget_tokens,
            self._selector,
            counter,
            positions=[getattr(n.node, "start_char_idx", None) for n in nodes],
            seed=self.seed,
            query_vector=qvec,
            vectors=vecs,
        )
        if got.blocks:  # sentence blocks: new nodes that name their sources
            self._last = got.selection
            return [_block_node(c, nodes) for c in got.blocks]
        ids = [nodes[i].node.node_id for i in got.keep]
        self._last = replace(got.selection, stats={**got.selection.stats, "node_ids": ids})
        return [nodes[i] for i in got.keep]


def _block_node(block: Candidate, nodes: list[NodeWithScore]) -> NodeWithScore:
    """An evidence block (one document's chosen sentences under its title) as a llama-index node."""
    sources = [nodes[int(i)].node.node_id for i in block.chunk.metadata.get("source_chunk_ids", [])]
    meta = {"source_node_ids": sources, "title": block.chunk.metadata.get("title", ""), "granularity": "sentences"}
    node = TextNode(
        id_=f"{sources[0] if sources else block.chunk.doc_id}#sentences",
        text=block.chunk.text,
        metadata=meta,
        excluded_llm_metadata_keys=list(meta),
        excluded_embed_metadata_keys=list(meta),
    )
    return NodeWithScore(node=node, score=block.score)


class RagEngineEmbedding(BaseEmbedding):
    """A ragengine embedder (``minilm-onnx-int8`` by default: no torch, no network) as a llama-index model.

    The model loads on the first call. Vectors are L2-normalised, so llama-index's cosine equals
    the inner product ragengine's FAISS indexes use.
    """

    embedder_name: str = Field(default="minilm-onnx-int8", description="ragengine embedder name (get_embedder).")

    _embedder: Embedder | None = PrivateAttr(default=None)

    def __init__(self, embedder: str | Embedder = "minilm-onnx-int8", **kwargs: Any) -> None:
        if isinstance(embedder, str):
            name, obj = embedder, None
        elif hasattr(embedder, "embed") and hasattr(embedder, "id"):
            name, obj = embedder.id, embedder
        else:
            raise InvalidInput(f"embedder must be a name such as 'minilm-onnx-int8' or an Embedder, got {embedder!r}")
        kwargs.setdefault("model_name", name)
        kwargs["embedder_name"] = name
        super().__init__(**kwargs)
        self._embedder = obj

    @classmethod
    def class_name(cls) -> str:
        return "RagEngineEmbedding"

    def _model(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.embedder_name)
        return self._embedder

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        if not texts:
            return []
        out = self._model().embed(list(texts), batch_size=self.embed_batch_size)
        return [row.astype(float).tolist() for row in np.asarray(out)]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embeddings([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embedding(text)
