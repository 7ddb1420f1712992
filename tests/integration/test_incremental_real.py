"""Incremental update of a real index (int8 MiniLM, SmolLM2 tokenizer, clusters): kept chunks keep their
exact vectors, term weights and contextual sentence vectors; only the new document is encoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ragengine import Budget, BuildReport, Engine
from ragengine.cluster import load_clusters
from ragengine.index.store import LoadedIndex
from ragengine.ingest.corpora import iter_squad_paragraphs
from ragengine.rerank.index_terms import load_terms
from ragengine.types import Document
from tests.conftest import XQUAD


def test_add_to_a_real_index_reuses_every_kept_row(tmp_path: Path) -> None:
    docs = [Document(d, t, {"title": ti}) for d, ti, t in iter_squad_paragraphs(XQUAD)][:12]
    built = BuildReport()
    Engine.build_index(docs, "r", root=tmp_path, clusters=True, build_report=built)
    folder = tmp_path / "r"
    old = LoadedIndex.load(folder)
    old_terms, old_cs = load_terms(folder), load_clusters(folder, old.chunks)
    assert old_cs.params["sentence_vectors"] == "contextual" and old_terms is not None
    engine = Engine.from_index("r", root=tmp_path, generator="extractive")
    new = Document("zorblat", "Zorblat is a city on Mars founded in 2101 by the engineer Mira Castellanos.", {})
    report = engine.add_documents([new])
    assert (report.documents_new, report.chunks_embedded, report.chunks_reused) == (1, 1, built.chunks_embedded)
    idx = LoadedIndex.load(folder)
    terms, cs = load_terms(folder), load_clusters(folder, idx.chunks)
    assert terms is not None and terms.n_rows == len(idx.chunks) == len(old.chunks) + 1
    kept = [(r, idx.chunks.index(c)) for r, c in enumerate(old.chunks)]
    np.testing.assert_array_equal(old.dense.all_vectors(), idx.dense.all_vectors()[[b for _, b in kept]])
    for a, b in kept[:20]:
        assert old_terms.row(a) == terms.row(b)
        np.testing.assert_array_equal(
            old_cs.sentences.vectors[old_cs.sentences.chunk == a], cs.sentences.vectors[cs.sentences.chunk == b]
        )
    answer = engine.ask("Who founded Zorblat?", Budget(context_tokens=128))
    assert "Mira Castellanos" in answer.text
