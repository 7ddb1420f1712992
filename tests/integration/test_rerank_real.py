"""The shipped term re-ranker on real text (XQuAD, CI-sized): one encoder pass gives the dense vectors
and the term weights, and re-ranking hybrid candidates keeps the question's own paragraph near the top."""

from __future__ import annotations

import numpy as np
import pytest

from ragengine.evaluation.datasets import iter_squad_paragraphs, load_squad
from ragengine.rerank.sparse import TermMatrix
from ragengine.rerank.term_weights import TermWeighter
from ragengine.rerank.terms import TermReranker
from tests.conftest import XQUAD

pytestmark = [pytest.mark.integration, pytest.mark.slow]
N_PARAGRAPHS = 40


@pytest.fixture(scope="module")
def xquad_terms(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str], TermMatrix, np.ndarray]:
    rows = list(iter_squad_paragraphs(XQUAD))[:N_PARAGRAPHS]
    ids, texts = [r[0] for r in rows], [r[2] for r in rows]
    terms, vectors = TermWeighter().passage_weights_and_vectors(texts, batch=16)
    path = tmp_path_factory.mktemp("terms") / "terms.npz"
    terms.save(path)
    return ids, texts, TermMatrix.load(path), vectors


def test_one_pass_gives_the_embedders_vectors(xquad_terms) -> None:
    from ragengine.embed.onnx_minilm import OnnxMiniLM

    _, texts, terms, vectors = xquad_terms
    ref = OnnxMiniLM().embed(texts[:8])
    assert np.min(np.sum(ref * vectors[:8], axis=1)) > 0.999
    assert terms.n_rows == len(texts) and terms.nnz > 20 * len(texts)
    assert np.all(terms.data > 0)


def test_term_rerank_finds_the_questions_paragraph(xquad_terms) -> None:
    from ragengine.index.bm25 import BM25Index
    from ragengine.types import Candidate, Chunk

    ids, texts, terms, vectors = xquad_terms
    bm25 = BM25Index.build(texts)
    rr = TermReranker(terms, chunk_ids=ids, vectors=vectors)
    pos = {d: i for i, d in enumerate(ids)}
    exs = [ex for ex in load_squad(XQUAD) if ex.gold_doc_ids[0] in pos][::3]
    from ragengine.embed.onnx_minilm import OnnxMiniLM

    qv = OnnxMiniLM().embed([ex.question for ex in exs])
    hits_terms = hits_bm25 = 0
    for ex, v in zip(exs, qv, strict=True):
        r, s = bm25.search([ex.question], 20)[0]
        cands = [
            Candidate(Chunk(ids[i], ids[i], texts[i], 1), float(x), k, {"bm25": float(x)})
            for k, (i, x) in enumerate(zip(r.tolist(), s.tolist(), strict=True))
        ]
        out = rr.rerank(ex.question, cands, query_vector=v)
        assert sorted(c.chunk.chunk_id for c in out) == sorted(c.chunk.chunk_id for c in cands)
        hits_terms += ex.gold_doc_ids[0] in [c.chunk.doc_id for c in out[:1]]
        hits_bm25 += ex.gold_doc_ids[0] in [c.chunk.doc_id for c in cands[:1]]
    assert hits_terms >= hits_bm25 - 2, (hits_terms, hits_bm25, len(exs))
    assert hits_terms / len(exs) >= 0.75


def test_write_terms_then_get_reranker(tmp_path) -> None:
    from ragengine.rerank.index_terms import get_reranker, write_terms
    from ragengine.testing import TINY_CORPUS
    from ragengine.types import Candidate, Chunk

    ids, texts = [d for d, _ in TINY_CORPUS], [t for _, t in TINY_CORPUS]
    vectors = write_terms(tmp_path, texts)
    assert vectors.shape == (len(texts), 384)
    rr = get_reranker("terms", tmp_path, ids, vectors)
    cands = [
        Candidate(Chunk(d, d, t, 1), 0.0, i, {"bm25": 0.0}) for i, (d, t) in enumerate(zip(ids, texts, strict=True))
    ]
    out = rr.rerank(texts[2][:60], cands, k=3)
    assert len(out) == 3 and out[0].chunk.chunk_id == ids[2]
