"""The one encoder pass of a build: dense vectors, term weights and sentence vectors of the chunks that need it.

With the default embedder (int8 MiniLM, the term re-ranker's encoder) a single pass over each
chunk's tokens yields all three: the pooled vector (equal to the embedder's own), the TILDE term
weights from the token states, and each sentence's vector as the mean of its tokens' contextual
states (late chunking), so clusters need no second pass over sentences. Other embedders embed
chunks in batches, and sentences separately when clusters want them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragengine.embed.base import Embedder
from ragengine.errors import InvalidInput
from ragengine.index.store import TERM_ENCODER
from ragengine.indexing import distributed
from ragengine.indexing.progress import Progress
from ragengine.rerank.sparse import TermMatrix

BATCH = 256  # chunks per encoder call: bounds the token states held at once (~256 x 130 x 384 float16)


@dataclass
class Encoded:
    """Rows in input order; ``sentences[t]`` holds text t's sentence vectors (when spans were given)."""

    vectors: np.ndarray
    terms: TermMatrix | None
    sentences: list[np.ndarray] | None


def encode_texts(
    texts: Sequence[str],
    embedder: Embedder,
    *,
    with_terms: bool,
    spans: Sequence[Sequence[tuple[int, int]]] | None,
    progress: Progress,
) -> Encoded:
    """Encode ``texts`` once; term weights when ``with_terms`` and the embedder is the term encoder."""
    progress.start_encoding(len(texts))
    try:
        if distributed.active() is not None:
            return _on_ray(texts, embedder, with_terms, spans, progress)
        if embedder.id == TERM_ENCODER:
            from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, TermWeighter

            terms, vectors, flat = TermWeighter(DEFAULT_WEIGHTS).passage_encoding(
                texts, spans, batch=BATCH, on_batch=progress.encoded
            )
            sentences = None if spans is None else _split_rows(flat, [len(s) for s in spans])
            return Encoded(vectors, terms if with_terms else None, sentences)
        parts = []
        for start in range(0, len(texts), BATCH):
            parts.append(embedder.embed(texts[start : start + BATCH]))
            progress.encoded(min(start + BATCH, len(texts)))
        vectors = np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32)
        sentences = None
        if spans is not None:
            flat_texts = [t[a:b] for t, sp in zip(texts, spans, strict=True) for a, b in sp]
            flat = embedder.embed(flat_texts) if flat_texts else np.zeros((0, embedder.dim), np.float32)
            sentences = _split_rows(flat, [len(s) for s in spans])
        return Encoded(vectors, None, sentences)
    finally:
        progress.finish_encoding()


def _on_ray(
    texts: Sequence[str],
    embedder: Embedder,
    with_terms: bool,
    spans: Sequence[Sequence[tuple[int, int]]] | None,
    progress: Progress,
) -> Encoded:
    if embedder.id != TERM_ENCODER:
        raise InvalidInput(f"indexing on Ray supports the default embedder ({TERM_ENCODER}), not {embedder.id!r}")
    from ragengine.rerank.term_weights import VOCAB_SIZE

    terms, vectors, sentences = distributed.encode_on_ray(
        texts, spans, batch=BATCH, dim=embedder.dim, n_cols=VOCAB_SIZE
    )
    progress.encoded(len(texts))
    return Encoded(vectors, terms if with_terms else None, sentences)


def _split_rows(flat: np.ndarray, counts: list[int]) -> list[np.ndarray]:
    bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    flat = flat if flat.dtype == np.float16 else flat.astype(np.float16)
    return [flat[bounds[i] : bounds[i + 1]] for i in range(len(counts))]  # views: no copy
