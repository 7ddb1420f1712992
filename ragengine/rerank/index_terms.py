"""The term re-ranker's files inside an index folder, and the ``--reranker none|terms`` choice.

Index time (``write_terms``): one MiniLM pass over the chunk texts gives the per-chunk term weights
(``terms.npz``, CSR, float16) and the dense vectors the index needs anyway; ``terms.json`` records
which weights built them (name, sha256, expansion). Query time (``get_reranker``): ``"terms"``
loads ``terms.npz`` and refuses, with ``IndexMismatch``, an index whose terms were built with other
weights than the ones in use; ``"none"`` keeps the retriever's order.

>>> vectors = write_terms(tmp_folder, [c.text for c in chunks])                 # doctest: +SKIP
>>> rr = get_reranker("terms", folder, [c.chunk_id for c in chunks], vectors)   # doctest: +SKIP
>>> top = rr.rerank(question, retrieved.candidates, query_vector=retrieved.query_vector, k=30)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragengine.errors import IndexCorrupted, IndexMismatch, InvalidInput
from ragengine.rerank.base import NoReranker, Reranker
from ragengine.rerank.sparse import TERMS_FILE, TermMatrix
from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, TermWeighter, TermWeights, sha256_of
from ragengine.rerank.terms import TermReranker

__all__ = [
    "DEFAULT_RERANKER",
    "RERANKERS",
    "TERMS_META",
    "NoReranker",
    "Reranker",
    "get_reranker",
    "load_terms",
    "save_terms",
    "write_terms",
]

TERMS_META = "terms.json"
RERANKERS = ("none", "terms")
DEFAULT_RERANKER = "terms"  # eval/results/retrieval.md: +0.038 nDCG@10 on SciFact test, +0.061 SQuAD recall@1


def write_terms(
    folder: Path, texts: Sequence[str], *, weights: Path | str | None = None, progress: bool = False
) -> np.ndarray:
    """Write ``terms.npz`` and ``terms.json`` for ``texts`` (chunk order) and return their dense vectors.

    The vectors equal ``OnnxMiniLM().embed(texts)`` for texts within 256 WordPieces (cosine 1.0):
    an index using the default embedder can store them instead of embedding a second time.
    """
    path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    weighter = TermWeighter(path)
    terms, vectors = weighter.passage_weights_and_vectors(texts, progress=progress)
    save_terms(folder, terms, weights=path)
    return vectors


def save_terms(folder: Path, terms: TermMatrix, *, weights: Path | str | None = None) -> None:
    """Write ``terms`` (one row per chunk, in order, made with ``weights``) and the record of which weights."""
    path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    expansion = TermWeighter(path).expansion
    terms.save(Path(folder) / TERMS_FILE)
    meta = {
        "weights": path.name,
        "sha256": sha256_of(path),
        "expansion": expansion,
        "rows": terms.n_rows,
        "nnz": terms.nnz,
    }
    (Path(folder) / TERMS_META).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


def load_terms(folder: Path, *, weights: Path | str | None = None) -> TermMatrix | None:
    """The index's term weights if they were made with ``weights`` (the shipped ones by default), else None."""
    folder = Path(folder)
    path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    try:
        meta = json.loads((folder / TERMS_META).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(meta, dict) or meta.get("sha256") != sha256_of(path) or not (folder / TERMS_FILE).is_file():
        return None
    if meta.get("expansion") != TermWeighter(path).expansion:
        return None
    return TermMatrix.load(folder / TERMS_FILE)


def get_reranker(
    name: str,
    folder: Path | None = None,
    chunk_ids: Sequence[str] | None = None,
    vectors: np.ndarray | None = None,
    *,
    weights: Path | str | None = None,
) -> Reranker:
    """``"none"`` or ``"terms"`` (needs the index ``folder``, its ``chunk_ids`` in order, and its ``vectors``)."""
    if name == "none":
        return NoReranker()
    if name != "terms":
        raise InvalidInput(f"unknown reranker {name!r}; choose one of {', '.join(RERANKERS)}")
    if folder is None or chunk_ids is None:
        raise InvalidInput("the 'terms' reranker needs the index folder and its chunk ids")
    folder = Path(folder)
    meta_path = folder / TERMS_META
    if not meta_path.is_file() or not (folder / TERMS_FILE).is_file():
        raise IndexCorrupted(
            f"index {folder} has no term weights ({TERMS_FILE}); rebuild it with `ragengine index` "
            "or use --reranker none"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        built_with = str(meta["sha256"])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise IndexCorrupted(f"{meta_path} is unreadable ({e}); rebuild the index") from e
    path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    tw = TermWeights.load(path)
    if sha256_of(path) != built_with:
        raise IndexMismatch(
            f"index {folder.name!r} holds term weights from {meta.get('weights')} (sha256 {built_with[:12]}), "
            f"but the re-ranker loads {path.name} (sha256 {sha256_of(path)[:12]}); rebuild the index with "
            "`ragengine index` or pass the weights it was built with"
        )
    return TermReranker(TermMatrix.load(folder / TERMS_FILE), weights=tw, chunk_ids=chunk_ids, vectors=vectors)
