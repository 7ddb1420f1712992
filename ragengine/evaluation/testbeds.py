"""Retrieval test beds for training and benchmarking the term re-ranker: a corpus, its indexes, queries, qrels.

``EvalSet.candidates(i)`` reproduces ``HybridRetriever.retrieve`` (BM25 top ``depth`` + dense top
``depth``, fused with RRF k=60, per-retriever scores kept) without building an index folder, so
training-time tuning and the benchmark see the same candidates the engine's pipeline does.
Splits: SciFact ``train`` / ``test`` over the full corpus; SQuAD v1.1 dev ``tune`` (articles
1-24) over the tune-half paragraphs only, ``report`` (25-48) over all 2,067 paragraphs; the
bundled XQuAD (``xquad``, 240 paragraphs) has the same two splits, for smoke runs. Cost: the
corpus's token states (cached, ``corpus_states``), a BM25 and a flat FAISS build, one query embedding each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ragengine.embed.onnx_minilm import OnnxMiniLM
from ragengine.errors import InvalidInput
from ragengine.evaluation.corpus_states import (
    SCIFACT,
    SQUAD_FILE,
    XQUAD,
    CorpusStates,
    corpus_states,
    data_root,
    default_cache,
    scifact_corpus,
    squad_corpus,
)
from ragengine.evaluation.datasets import SQUAD_REPORT, SQUAD_TUNE, load_beir_queries, load_squad
from ragengine.index.bm25 import BM25Index
from ragengine.index.dense import DenseIndex
from ragengine.rerank.encoder import TokenEncoder
from ragengine.rerank.sparse import TermMatrix
from ragengine.rerank.term_weights import TermWeights, content_mask, weights_from_states
from ragengine.retrieve.fusion import rrf
from ragengine.types import Candidate, Chunk


def in_dev_fold(qid: str) -> bool:
    """The fixed 20% of tune queries held out from projection training, for fusion tuning and early checks."""
    return int(hashlib.sha1(qid.encode()).hexdigest(), 16) % 5 == 0


def embed_queries(texts: Sequence[str], cache_dir: Path | None = None) -> np.ndarray:
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = (cache_dir or default_cache()) / f"queries-{key}.npy"
    if path.is_file():
        return np.load(path)
    vecs = OnnxMiniLM().embed(list(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


@dataclass
class EvalSet:
    name: str
    doc_ids: list[str]
    texts: list[str]
    states: CorpusStates
    query_ids: list[str]
    queries: list[str]
    qrels: list[dict[int, int]]  # per query: corpus row -> relevance grade (> 0)
    bm25: BM25Index
    dense: DenseIndex
    qvecs: np.ndarray
    chunks: list[Chunk] = field(default_factory=list)
    _memo: dict[tuple[int, int], tuple[list[Candidate], np.ndarray]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.chunks:
            self.chunks = [Chunk(d, d, "", 0, 0) for d in self.doc_ids]

    @property
    def vectors(self) -> np.ndarray:
        return self.states.pooled

    def subset(self, keep: Sequence[int]) -> EvalSet:
        return EvalSet(
            self.name,
            self.doc_ids,
            self.texts,
            self.states,
            [self.query_ids[i] for i in keep],
            [self.queries[i] for i in keep],
            [self.qrels[i] for i in keep],
            self.bm25,
            self.dense,
            self.qvecs[list(keep)],
            self.chunks,
        )

    def bm25_ranked(self, i: int, depth: int) -> tuple[np.ndarray, np.ndarray]:
        return self.bm25.search([self.queries[i]], depth)[0]

    def dense_ranked(self, i: int, depth: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self.dense.search(self.qvecs[i : i + 1], depth)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def candidates(self, i: int, depth: int = 100) -> tuple[list[Candidate], np.ndarray]:
        """Hybrid RRF candidates of query ``i`` (all fused, best first) and their corpus rows (memoised)."""
        if (i, depth) in self._memo:
            return self._memo[(i, depth)]
        b_ids, b_sc = self.bm25_ranked(i, depth)
        d_ids, d_sc = self.dense_ranked(i, depth)
        bm = dict(zip(b_ids.tolist(), b_sc.tolist(), strict=True))
        de = dict(zip(d_ids.tolist(), d_sc.tolist(), strict=True))
        fused = rrf([b_ids.tolist(), d_ids.tolist()], 60)
        cands = []
        for rank, (r, s) in enumerate(fused):
            ev = {"rrf": s} | ({"bm25": bm[r]} if r in bm else {}) | ({"dense": de[r]} if r in de else {})
            cands.append(Candidate(self.chunks[r], s, rank, ev))
        self._memo[(i, depth)] = cands, np.array([r for r, _ in fused], dtype=np.int64)
        return self._memo[(i, depth)]


def load_evalset(
    name: str,
    split: str,
    *,
    root: Path | None = None,
    cache_dir: Path | None = None,
    encoder: TokenEncoder | None = None,
) -> EvalSet:
    """``name`` is ``scifact`` (splits train/test), ``squad`` or ``xquad`` (splits tune/report)."""
    root = root or data_root()
    enc = encoder or TokenEncoder()
    if name == "scifact":
        doc_ids, texts = scifact_corpus(root)
        exs = load_beir_queries(root / SCIFACT, split)
    elif name in ("squad", "xquad"):
        articles = SQUAD_TUNE if split == "tune" else SQUAD_REPORT if split == "report" else None
        if articles is None:
            raise InvalidInput(f"{name} splits are 'tune' and 'report', got {split!r}")
        path = root / SQUAD_FILE if name == "squad" else XQUAD
        doc_ids, texts = squad_corpus(path=path)
        exs = load_squad(path, articles)
    else:
        raise InvalidInput(f"unknown evaluation set {name!r}; choose 'scifact', 'squad' or 'xquad'")
    states = corpus_states(texts, enc, cache_dir)
    if name != "scifact" and split == "tune":  # the tune half's paragraphs only: the report half trains nothing
        n_tune = len(squad_corpus(articles=SQUAD_TUNE, path=path)[0])
        doc_ids, texts, states = doc_ids[:n_tune], texts[:n_tune], states.head(n_tune)
    rows = {d: i for i, d in enumerate(doc_ids)}
    qrels = []
    for ex in exs:
        grades = ex.meta.get("qrels") or {g: 1 for g in ex.gold_doc_ids}
        qrels.append({rows[d]: int(g) for d, g in grades.items() if d in rows and int(g) > 0})
    return EvalSet(
        f"{name}-{split}",
        doc_ids,
        texts,
        states,
        [ex.id for ex in exs],
        [ex.question for ex in exs],
        qrels,
        BM25Index.build(texts),
        DenseIndex.build(states.pooled, "flat"),
        embed_queries([ex.question for ex in exs], cache_dir),
    )


def term_matrix(es: EvalSet, weights: TermWeights, mask: np.ndarray | None = None) -> TermMatrix:
    """The term weights of every passage of ``es`` under ``weights`` (from its cached token states)."""
    st = es.states
    return weights_from_states(weights, st.ids, st.offsets, st.states, content_mask() if mask is None else mask)
