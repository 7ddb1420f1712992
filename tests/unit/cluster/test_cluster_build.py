"""Clustering at index time: the k rule, determinism per seed, summaries under their cap, no-pickle storage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragengine.cluster import build_clusters, load_clusters, n_clusters_for, save_clusters
from ragengine.cluster.sentences import sentence_spans
from ragengine.errors import IndexCorrupted, IndexMismatch, InvalidInput
from ragengine.testing import HashEmbedder, WhitespaceCounter
from ragengine.types import Chunk

TOPICS = {
    "river": "The {x} river floods every spring. Boats carry grain along the {x} river. Fishermen live by the water.",
    "king": "King {x} ruled the old kingdom. The king of {x} built a castle. His army defended the crown.",
    "music": "The {x} orchestra plays symphonies. Musicians of {x} tour in winter. The concert hall is full.",
}


def corpus(n_per_topic: int = 6) -> list[Chunk]:
    out = []
    for t, template in TOPICS.items():
        for i in range(n_per_topic):
            text = template.format(x=f"{t}{i}")
            out.append(Chunk(f"{t}-{i}", f"doc-{t}-{i}", text, len(text.split())))
    return out


def vectors(chunks: list[Chunk]) -> np.ndarray:
    return HashEmbedder(64).embed([c.text for c in chunks])


def build(chunks: list[Chunk], **kw: object) -> object:
    opts: dict[str, object] = {"embedder": HashEmbedder(64), "seed": 0, "summary_cap_tokens": 20, **kw}
    return build_clusters(chunks, vectors(chunks), WhitespaceCounter(), **opts)  # type: ignore[arg-type]


def test_k_rule_follows_corpus_size() -> None:
    assert [n_clusters_for(n) for n in (1, 3, 4, 18, 100, 2600)] == [1, 1, 2, 4, 10, 51]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_k_rule_rejects_bad_sizes(bad: object) -> None:
    with pytest.raises(InvalidInput, match="n_chunks must be a positive int"):
        n_clusters_for(bad)  # type: ignore[arg-type]


def test_same_seed_same_clusters_and_summaries() -> None:
    chunks = corpus()
    a, b = build(chunks, seed=7), build(chunks, seed=7)
    assert np.array_equal(a.assign, b.assign)  # type: ignore[attr-defined]
    assert np.array_equal(a.centroids, b.centroids)  # type: ignore[attr-defined]
    assert [s.text for s in a.summaries] == [s.text for s in b.summaries]  # type: ignore[attr-defined]


def test_clusters_follow_topics_and_summaries_respect_cap() -> None:
    chunks = corpus()
    cs = build(chunks, n_clusters=3)
    counter = WhitespaceCounter()
    for k in range(3):
        topics = {chunks[int(r)].chunk_id.split("-")[0] for r in cs.members(k)}  # type: ignore[attr-defined]
        assert len(topics) == 1
    for s in cs.summaries:  # type: ignore[attr-defined]
        assert 0 < s.n_tokens <= 20 and s.n_tokens == counter.count(s.text)
        assert s.source_rows and all(0 <= r < len(chunks) for r in s.source_rows)


def test_save_load_round_trip_without_pickle(tmp_path: Path) -> None:
    chunks = corpus()
    cs = build(chunks)
    files = save_clusters(tmp_path, cs)  # type: ignore[arg-type]
    assert {f.name for f in files} == {"clusters.npz", "clusters.json"}
    with np.load(files[0], allow_pickle=False) as z:  # would raise if any array needed pickle
        assert set(z.files) >= {"centroids", "assign", "sent_vectors"}
    back = load_clusters(tmp_path, chunks)
    assert np.array_equal(back.assign, cs.assign)  # type: ignore[attr-defined]
    assert [s.text for s in back.summaries] == [s.text for s in cs.summaries]  # type: ignore[attr-defined]


def test_load_refuses_clusters_of_other_chunks(tmp_path: Path) -> None:
    chunks = corpus()
    save_clusters(tmp_path, build(chunks))  # type: ignore[arg-type]
    with pytest.raises(IndexMismatch, match="built on other chunks"):
        load_clusters(tmp_path, chunks[:-1])


def test_load_without_clusters_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(IndexCorrupted, match="no clusters/ folder"):
        load_clusters(tmp_path)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_clusters": 0}, "n_clusters must be an int in"),
        ({"n_clusters": 99}, "n_clusters must be an int in"),
        ({"summary_cap_tokens": 4}, "summary_cap_tokens must be an int >= 8"),
        ({"seed": "0"}, "seed must be an int"),
        ({"summary": "poem"}, "unknown summary mode"),
        ({"summary": "abstractive"}, "needs a generator"),
    ],
)
def test_bad_parameters_are_refused(kw: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        build(corpus(), **kw)


def test_vectors_must_match_chunks() -> None:
    chunks = corpus()
    with pytest.raises(InvalidInput, match="one vector per chunk"):
        build_clusters(chunks, vectors(chunks)[:-1], WhitespaceCounter(), embedder=HashEmbedder(64))


def test_sentence_spans_keep_closing_quotes() -> None:
    text = 'He said "Go." Then he left.  U.S. troops won.'
    assert [text[a:b] for a, b in sentence_spans(text)] == ['He said "Go."', "Then he left.", "U.S. troops won."]


class ScriptedSummarizer:
    """A chat model that always writes the same long summary and reports fixed usage."""

    def __init__(self) -> None:
        self.calls = 0

    def chat(self, messages: object, *, max_tokens: int, json_schema: object = None) -> object:
        from ragengine.rewrite.chat import ChatReply

        self.calls += 1
        return ChatReply("The kingdom had a king. " + "He ruled for many long years. " * 10, 50, 40)


def test_abstractive_summaries_are_capped_and_their_tokens_reported() -> None:
    chat = ScriptedSummarizer()
    cs = build(corpus(), n_clusters=3, summary="abstractive", generator=chat, summary_cap_tokens=12)
    assert chat.calls == 3
    assert cs.indexing["tokens_in"] == 150 and cs.indexing["tokens_out"] == 120 and cs.indexing["llm_calls"] == 3  # type: ignore[attr-defined]
    for s in cs.summaries:  # type: ignore[attr-defined]
        assert s.mode == "abstractive" and 0 < s.n_tokens <= 12 and s.text.startswith("The kingdom had a king.")
