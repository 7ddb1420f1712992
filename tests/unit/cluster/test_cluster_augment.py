"""Query-time CRAG on the fakes: granularities offered, citations traceable, duplicates merged, budget kept."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ragengine import Budget, Engine, EngineConfig
from ragengine.cluster import ClusterAugmenter, build_clusters, context_doc_ids, granularity, load_clusters
from ragengine.cluster import save_clusters as save
from ragengine.errors import InvalidInput
from ragengine.index.store import LoadedIndex
from ragengine.testing import HashEmbedder, WhitespaceCounter
from ragengine.types import Document

DOCS = {
    "paris": "Paris is the capital of France. The Seine river crosses Paris. Paris hosts the Louvre museum.",
    "lyon": "Lyon is a city in France. The Rhone river crosses Lyon. Lyon is known for food.",
    "berlin": "Berlin is the capital of Germany. The Spree river crosses Berlin. Berlin has a famous wall.",
    "munich": "Munich is a city in Germany. Munich hosts Oktoberfest. The Isar river crosses Munich.",
    "nile": "The Nile is a river in Africa. The Nile flows north. Egypt depends on the Nile.",
    "nile-copy": "The Nile is a river in Africa. The Nile flows north. Egypt depends on the Nile.",
}


@pytest.fixture
def crag_index(tmp_path: Path) -> Path:
    docs = [Document(k, v) for k, v in DOCS.items()]
    Engine.build_index(docs, "c", root=tmp_path, embedder="hash-64", tokenizer="whitespace", chunk_size=32)
    folder = tmp_path / "c"
    idx = LoadedIndex.load(folder, verify=False)
    cs = build_clusters(idx.chunks, np.asarray(idx.vectors), WhitespaceCounter(), embedder=HashEmbedder(64), seed=0)
    save(folder, cs)
    return folder


def _augmenter(folder: Path, **kw: object) -> tuple[Engine, ClusterAugmenter]:
    eng = Engine.from_index(folder, generator="none", config=EngineConfig(clusters="off"))  # raw candidates
    cs = load_clusters(folder, eng.index.chunks)
    return eng, ClusterAugmenter(eng.index, cs, WhitespaceCounter(), **kw)  # type: ignore[arg-type]


def test_augment_offers_three_granularities_with_exact_tokens(crag_index: Path) -> None:
    eng, aug = _augmenter(crag_index, top_clusters=2, excerpt_tokens=12)
    out = aug.augment("Which river crosses Berlin?", eng.retrieve("Which river crosses Berlin?"))
    grans = {granularity(c.chunk) for c in out.candidates}
    assert {"excerpt", "summary", "chunk"} <= grans
    counter = WhitespaceCounter()
    for c in out.candidates:
        assert c.chunk.n_tokens == counter.count(c.chunk.text)
        if granularity(c.chunk) == "excerpt":
            assert c.chunk.n_tokens <= 12
    assert [c.rank for c in out.candidates] == list(range(len(out.candidates)))
    assert out.stats["clusters"]["chosen"] and len(out.stats["clusters"]["chosen"]) <= 2


def test_derived_candidates_cite_their_member_documents(crag_index: Path) -> None:
    eng, aug = _augmenter(crag_index)
    out = aug.augment("Which river crosses Berlin?", eng.retrieve("Which river crosses Berlin?"))
    excerpt = next(c.chunk for c in out.candidates if granularity(c.chunk) == "excerpt")
    assert "Spree" in excerpt.text and "berlin" in context_doc_ids(excerpt)
    members = set(excerpt.metadata["member_doc_ids"])
    assert set(context_doc_ids(excerpt)) <= members
    ids = {c.chunk_id for c in eng.index.chunks}
    assert set(excerpt.metadata["source_chunk_ids"]) <= ids and set(excerpt.metadata["members"]) <= ids
    raw = next(c.chunk for c in out.candidates if granularity(c.chunk) == "chunk")
    assert context_doc_ids(raw) == [raw.doc_id]


def test_near_duplicates_are_merged_keeping_the_higher_ranked(crag_index: Path) -> None:
    eng, aug = _augmenter(crag_index, granularities=())
    ret = eng.retrieve("Which river flows north in Africa?")
    docs = [c.chunk.doc_id for c in ret.candidates]
    assert "nile" in docs and "nile-copy" in docs
    out = aug.augment("Which river flows north in Africa?", ret)
    kept = [c.chunk for c in out.candidates if c.chunk.doc_id.startswith("nile")]
    assert len(kept) == 1 and kept[0].metadata["merged"]
    assert out.stats["clusters"]["merged"] == 1


def test_chunk_vectors_cover_derived_candidates(crag_index: Path) -> None:
    eng, aug = _augmenter(crag_index)
    out = aug.augment("capital of France", eng.retrieve("capital of France"))
    v = aug.chunk_vectors(out.candidates)
    assert v.shape == (len(out.candidates), 64)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-2)


def test_augmented_candidates_go_through_the_pipeline_within_budget(crag_index: Path) -> None:
    eng, aug = _augmenter(crag_index, excerpt_tokens=10)
    for budget in (8, 12, 30, 60):
        out = aug.augment("Which river crosses Munich?", eng.retrieve("Which river crosses Munich?"))
        ans = eng.ask(
            "Which river crosses Munich?", Budget(context_tokens=budget), retrieved=replace(out, query_vector=None)
        )
        assert ans.cost.context_tokens <= budget
    assert any("Isar" in c.text for c in ans.citations)


def test_without_a_query_vector_augment_is_skipped(crag_index: Path) -> None:
    eng, aug = _augmenter(crag_index)
    ret = replace(eng.retrieve("capital of France"), query_vector=None)
    out = aug.augment("capital of France", ret)
    assert out.candidates == ret.candidates and out.stats["clusters"] == {"skipped": "no query vector"}


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"top_clusters": 0}, "top_clusters must be an int >= 1"),
        ({"excerpt_tokens": 2}, "excerpt_tokens must be an int >= 8"),
        ({"excerpt_blocks": 0}, "excerpt_blocks must be an int >= 1"),
        ({"lexical_weight": -1}, "lexical_weight must be a number >= 0"),
        ({"granularities": ("sentence",)}, "unknown granularities"),
        ({"dedup_threshold": 1.5}, r"dedup_threshold must be in \(0, 1\]"),
    ],
)
def test_bad_augmenter_parameters_are_refused(crag_index: Path, kw: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        _augmenter(crag_index, **kw)


def test_excerpt_blocks_rank_first_and_are_disjoint(crag_index: Path) -> None:
    eng, aug = _augmenter(crag_index, excerpt_tokens=10, excerpt_blocks=3)
    out = aug.augment("Which river crosses Paris?", eng.retrieve("Which river crosses Paris?"))
    blocks = [c.chunk for c in out.candidates if granularity(c.chunk) == "excerpt"]
    assert blocks and [c.rank for c in out.candidates[: len(blocks)]] == list(range(len(blocks)))
    assert all(granularity(c.chunk) == "excerpt" for c in out.candidates[: len(blocks)])
    sentences = [s for b in blocks for s in b.text.split(". ")]
    assert len(sentences) == len(set(sentences))
    assert "Seine" in blocks[0].text
