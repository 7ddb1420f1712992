"""LangChain adapters: a ragengine index as a retriever, and the token-budget selector as a compressor.

``RagEngineRetriever`` returns the engine's ranked candidates (hybrid BM25 + FAISS, term re-rank)
as LangChain ``Document`` objects, so a corpus indexed by ragengine is used by LangChain without
embedding it again. ``TokenBudgetCompressor`` is a ``BaseDocumentCompressor``: put after any
retriever (``ContextualCompressionRetriever``, or called directly), it keeps what a ragengine
selector chooses under a hard token budget, counted with the reader's tokenizer. With the evidence
strategy it returns one document per source document holding only the chosen sentences.

>>> engine = Engine.from_index("mydocs")                                            # doctest: +SKIP
>>> docs = RagEngineRetriever(engine=engine, k=30).invoke("How do I declare a path parameter?")
>>> TokenBudgetCompressor(budget_tokens=256, strategy="evidence").compress_documents(docs, "How ...?")

Needs ``langchain-core`` (``pip install "ragengine[langchain]"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun, Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from ragengine import Engine
from ragengine.errors import InvalidInput
from ragengine.integrations.budgeted import select_under_budget
from ragengine.select.base import Selector
from ragengine.select.registry import get_selector
from ragengine.tokens import get_token_counter
from ragengine.types import Selection


class RagEngineRetriever(BaseRetriever):
    """The engine's ranked candidates for a query as documents (best first, at most ``k``).

    Each document's metadata holds ``chunk_id``, ``doc_id``, ``score`` and ``title`` when known.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Engine
    k: int = 30

    def __init__(self, *, engine: Engine, k: int = 30, **kwargs: Any) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
            raise InvalidInput(f"k must be a positive int, got {k!r}")
        engine = engine.with_config(candidates=k) if k != engine.config.candidates else engine
        fields: dict[str, Any] = {"engine": engine, "k": k, **kwargs}
        super().__init__(**fields)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        got = self.engine.retrieve(query)
        out = []
        for c in got.candidates[: self.k]:
            meta: dict[str, Any] = {"chunk_id": c.chunk.chunk_id, "doc_id": c.chunk.doc_id, "score": float(c.score)}
            if isinstance(c.chunk.metadata.get("title"), str):
                meta["title"] = c.chunk.metadata["title"]
            out.append(Document(page_content=c.chunk.text, metadata=meta, id=c.chunk.chunk_id))
        return out


class TokenBudgetCompressor(BaseDocumentCompressor):
    """Keep the documents (or, with ``strategy="evidence"``, the sentences) a ragengine selector
    chooses under ``budget_tokens``, counted with ``tokenizer``; ``last_selection`` says what was spent.

    Input order is rank (best first); a document's ``metadata["score"]`` is its score when present,
    else ``1 / (rank + 1)``; ``metadata["doc_id"]`` (else its ``id``, else its rank) groups sentences
    of one source. Each document costs its tokens plus one separator; the kept context is re-counted
    exactly, so joined with blank lines it never exceeds the budget.
    """

    budget_tokens: int
    strategy: str = "evidence"
    tokenizer: str = "smollm2-135m-instruct"
    seed: int = 0
    selector_options: dict[str, Any] = Field(default_factory=dict)

    _selector: Selector = PrivateAttr()
    _last: Selection | None = PrivateAttr(default=None)

    def __init__(self, *, budget_tokens: int, strategy: str = "evidence", **kwargs: Any) -> None:
        b = budget_tokens
        if isinstance(b, bool) or not isinstance(b, int) or b <= 0:
            raise InvalidInput(f"budget_tokens must be a positive int, got {b!r}; pass the context tokens allowed")
        if not isinstance(strategy, str):
            raise InvalidInput(f"strategy must be a selector name (str), got {strategy!r}")
        fields: dict[str, Any] = {"budget_tokens": b, "strategy": strategy, **kwargs}
        super().__init__(**fields)
        counter = get_token_counter(self.tokenizer)  # unknown tokenizers, strategies and options fail here
        self._selector = get_selector(self.strategy, counter=counter, **self.selector_options)

    @property
    def last_selection(self) -> Selection | None:
        """What the latest call chose and spent (None before the first call)."""
        return self._last

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        docs = list(documents)
        scores = [d.metadata.get("score") if isinstance(d.metadata.get("score"), int | float) else None for d in docs]
        got = select_under_budget(
            query,
            [d.page_content.strip() for d in docs],
            [str(d.metadata.get("doc_id") or d.id or i) for i, d in enumerate(docs)],
            scores,
            self.budget_tokens,
            self._selector,
            get_token_counter(self.tokenizer),
            seed=self.seed,
        )
        self._last = got.selection
        if got.blocks:
            out = []
            for b in got.blocks:
                sources = [int(i) for i in b.chunk.metadata.get("source_chunk_ids", [])]
                first = docs[sources[0]].metadata if sources else {}
                meta = {**first, "granularity": "sentences", "source_ids": [docs[i].id for i in sources]}
                out.append(Document(page_content=b.chunk.text, metadata=meta))
            return out
        return [docs[i] for i in got.keep]


__all__ = ["RagEngineRetriever", "TokenBudgetCompressor"]
