"""Lexical search with bm25s (English stopwords, Snowball stemming), saved in bm25s's own format.

bm25s is ~70x faster than rank-bm25 with the same top-10 on 99.8% of queries; a test
checks it against rank-bm25 on a real corpus.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import MissingDependency

BM25_DIR = "bm25"
PARAMS = {"library": "bm25s", "method": "lucene", "k1": 1.5, "b": 0.75, "stopwords": "en", "stemmer": "english"}


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as e:
        raise MissingDependency("BM25 search (bm25s)", "cpu") from e
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def _stemmer() -> Any:
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


class BM25Index:
    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever
        self.stemmer = _stemmer()

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        bm25s = _bm25s()
        tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False)
        retriever = bm25s.BM25(method="lucene", k1=PARAMS["k1"], b=PARAMS["b"])
        retriever.index(tokens, show_progress=False)
        return cls(retriever)

    def search(self, queries: Sequence[str], k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query: (doc indices, scores), best first; documents with score 0 are dropped."""
        bm25s = _bm25s()
        n_docs = int(self.retriever.scores["num_docs"])
        k = min(k, n_docs)
        out = []
        for q in queries:
            toks = bm25s.tokenize([q], stopwords="en", stemmer=self.stemmer, show_progress=False, return_ids=False)
            terms = [t for t in toks[0] if t in self.retriever.vocab_dict]
            if not terms or k <= 0:
                out.append((np.zeros(0, np.int64), np.zeros(0, np.float32)))
                continue
            scores = self.retriever.get_scores(terms)
            top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
            top = top[np.argsort(-scores[top], kind="stable")]
            top = top[scores[top] > 0]
            out.append((top.astype(np.int64), scores[top].astype(np.float32)))
        return out

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder / BM25_DIR), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        return cls(_bm25s().BM25.load(str(folder / BM25_DIR), allow_pickle=False, mmap=False))
