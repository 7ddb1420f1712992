"""Per-cluster summaries, computed once at index time and stored with the clusters.

- ``extractive`` (default, no LLM tokens): the member sentences closest to the cluster centroid
  (cosine of sentence and centroid embeddings), skipping repeats and near-repeats, packed under
  ``cap`` tokens and placed in document order.
- ``abstractive`` (optional): the generator is given the most central sentences (up to
  ``input_tokens``) and asked for a summary; the reply is cut to ``cap`` tokens at a sentence or
  word boundary. Its prompt and completion tokens are returned so the index build can report them
  as indexing cost (they are never charged to a query).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragengine.cluster.sentences import SentenceTable, join_sentences, pack_sentences, sentence_spans
from ragengine.errors import InvalidInput
from ragengine.tokens import TokenCounter

SUMMARY_MODES = ("extractive", "abstractive")
SUMMARY_SYSTEM = (
    "You write short factual summaries. Keep names, places, dates and numbers. "
    "Reply with the summary only, in plain sentences."
)


@dataclass(frozen=True)
class ClusterSummary:
    """A cluster's summary text, its exact token count, and the chunk rows its text came from."""

    cluster: int
    text: str
    n_tokens: int
    source_rows: tuple[int, ...]
    mode: str = "extractive"
    cost: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "text": self.text,
            "n_tokens": self.n_tokens,
            "source_rows": list(self.source_rows),
            "mode": self.mode,
            "cost": dict(self.cost),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClusterSummary:
        return cls(
            int(d["cluster"]),
            str(d["text"]),
            int(d["n_tokens"]),
            tuple(int(r) for r in d["source_rows"]),
            str(d.get("mode", "extractive")),
            {str(k): int(v) for k, v in dict(d.get("cost", {})).items()},
        )


def central_order(sent_ids: np.ndarray, table: SentenceTable, centroid: np.ndarray) -> list[int]:
    """``sent_ids`` sorted by cosine to ``centroid``, best first (ties by document order)."""
    if sent_ids.size == 0:
        return []
    sims = table.vectors[sent_ids].astype(np.float32) @ centroid.astype(np.float32)
    order = np.lexsort((sent_ids, -sims))
    return [int(sent_ids[i]) for i in order]


def extractive_summary(
    cluster: int,
    sent_ids: np.ndarray,
    table: SentenceTable,
    texts: Sequence[str],
    centroid: np.ndarray,
    counter: TokenCounter,
    cap: int,
) -> ClusterSummary:
    ids = pack_sentences(central_order(sent_ids, table, centroid), table, texts, counter, cap)
    text = join_sentences([table.text(i, texts) for i in ids])
    rows = tuple(sorted({int(table.chunk[i]) for i in ids}))
    return ClusterSummary(cluster, text, counter.count(text) if text else 0, rows, "extractive")


def _cut(text: str, counter: TokenCounter, cap: int) -> str:
    """The longest prefix of whole sentences (else whole words) of ``text`` within ``cap`` tokens."""
    text = " ".join(text.split())
    if counter.count(text) <= cap:
        return text
    kept: list[str] = []
    for a, b in sentence_spans(text):
        trial = join_sentences([*kept, text[a:b]])
        if counter.count(trial) > cap:
            break
        kept.append(text[a:b])
    if kept:
        return join_sentences(kept)
    words = text.split()
    lo, hi = 0, len(words)
    while lo < hi:  # binary search on the word prefix length
        mid = (lo + hi + 1) // 2
        if counter.count(" ".join(words[:mid])) <= cap:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def abstractive_summary(
    cluster: int,
    sent_ids: np.ndarray,
    table: SentenceTable,
    texts: Sequence[str],
    centroid: np.ndarray,
    counter: TokenCounter,
    cap: int,
    chat: Any,
    *,
    input_tokens: int = 768,
) -> ClusterSummary:
    """Summary written by ``chat`` (a ``ragengine.rewrite.chat.ChatModel``) from the central sentences."""
    from ragengine.rewrite.chat import chat_complete

    ids = pack_sentences(central_order(sent_ids, table, centroid), table, texts, counter, input_tokens)
    if not ids:
        return ClusterSummary(cluster, "", 0, (), "abstractive")
    source = "\n".join(table.text(i, texts) for i in ids)
    words = max(8, int(cap * 0.7))
    messages = [
        {"role": "system", "content": SUMMARY_SYSTEM},
        {"role": "user", "content": f"Summarize in at most {words} words:\n\n{source}\n\nSummary:"},
    ]
    reply = chat_complete(chat, messages, max_tokens=cap + 16)
    text = _cut(reply.text, counter, cap)
    rows = tuple(sorted({int(table.chunk[i]) for i in ids}))
    cost = {"tokens_in": reply.prompt_tokens, "tokens_out": reply.completion_tokens, "llm_calls": 1}
    return ClusterSummary(cluster, text, counter.count(text) if text else 0, rows, "abstractive", cost)


def check_mode(mode: str, chat: object) -> None:
    if mode not in SUMMARY_MODES:
        raise InvalidInput(f"unknown summary mode {mode!r}; choose one of {', '.join(SUMMARY_MODES)}")
    if mode == "abstractive" and chat is None:
        raise InvalidInput("summary='abstractive' needs a generator: pass generator=LlamaCppGenerator() or similar")
