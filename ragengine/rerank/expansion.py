"""TILDE-style passage expansion: add the vocabulary words the encoder rates closest to a passage.

TILDE expands a passage with the tokens its model predicts a query about it would contain.
Here the "prediction" is the cosine between the passage's MiniLM sentence vector (the dense
vector the index already holds) and the MiniLM vector of each whole-word vocabulary entry
(alphabetic, >= 3 letters, not a stopword: ~20,000 words, embedded once and cached). The ``terms``
closest words not already in the passage are added with weight ``scale * median_weight * cos``,
so expansion weights sit on the scale of the learned term weights.

Cost: embedding the vocabulary once (~1-3 minutes on 2 cores, then cached), and one
(n_passages x 20k) matrix product at index time (~1 s per 5,000 passages); nothing at query time.
Whether it is used is decided by the benchmark (``config["expansion"]["enabled"]`` in the weights).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ragengine.embed.onnx_minilm import OnnxMiniLM
from ragengine.paths import cache_root as default_cache
from ragengine.rerank.encoder import VOCAB_SIZE, load_tokenizer
from ragengine.rerank.sparse import TermMatrix
from ragengine.rerank.vocab import content_mask


def expansion_vocabulary() -> tuple[np.ndarray, list[str]]:
    """Ids and strings of the whole-word content tokens that expansion may add."""
    tok = load_tokenizer()
    mask = content_mask(tok)
    words = sorted((i, t) for t, i in tok.get_vocab().items() if i < VOCAB_SIZE and mask[i])
    keep = [(i, t) for i, t in words if t.isalpha() and t.isascii() and len(t) >= 3]
    return np.array([i for i, _ in keep], dtype=np.int64), [t for _, t in keep]


def vocabulary_vectors(cache_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(token ids, L2-normalised MiniLM vectors of those words), cached as .npy."""
    ids, words = expansion_vocabulary()
    key = hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]
    path = (cache_dir or default_cache()) / f"vocab-vectors-{key}.npy"
    if path.is_file():
        return ids, np.load(path)
    vecs = OnnxMiniLM(max_length=16).embed(words, batch_size=256).astype(np.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return ids, vecs


def expand(
    terms: TermMatrix,
    passage_vectors: np.ndarray,
    vocab_ids: np.ndarray,
    vocab_vectors: np.ndarray,
    *,
    n_terms: int = 20,
    scale: float = 0.5,
    block: int = 1024,
) -> TermMatrix:
    """``terms`` plus, per row, the ``n_terms`` nearest vocabulary words it lacks, weighted ``scale*median*cos``."""
    if n_terms <= 0 or scale <= 0:
        return terms
    unit = float(np.median(terms.data)) if terms.nnz else 1.0
    vv = np.asarray(vocab_vectors, dtype=np.float32)
    rows_l, cols_l, vals_l = [], [], []
    grab = min(len(vocab_ids), n_terms + 64)  # enough spares for the words already present
    for s in range(0, terms.n_rows, block):
        sims = np.asarray(passage_vectors[s : s + block], dtype=np.float32) @ vv.T
        top = np.argpartition(-sims, grab - 1, axis=1)[:, :grab]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1), axis=1)
        for r in range(len(top)):
            row = s + r
            have = terms.indices[terms.indptr[row] : terms.indptr[row + 1]]
            cand = top[r][~np.isin(vocab_ids[top[r]], have)][:n_terms]
            rows_l.append(np.full(len(cand), row, dtype=np.int64))
            cols_l.append(vocab_ids[cand])
            vals_l.append(scale * unit * np.clip(sims[r, cand], 0.0, None))
    orig_rows = np.repeat(np.arange(terms.n_rows), np.diff(terms.indptr))
    return TermMatrix.from_triples(
        np.concatenate([orig_rows, *rows_l]),
        np.concatenate([terms.indices.astype(np.int64), *cols_l]),
        np.concatenate([terms.data, *vals_l]),
        terms.n_rows,
        terms.n_cols,
    )
