from __future__ import annotations

import pytest

from ragengine.errors import InvalidInput
from ragengine.ingest.chunking import Chunker, chunk_id_for
from ragengine.testing import WhitespaceCounter
from ragengine.types import Document


def _doc(n_sentences: int) -> Document:
    text = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(n_sentences))
    return Document("doc-1", text, {"title": "T", "source": "s"})


def test_chunks_respect_size_and_are_stable() -> None:
    chunker = Chunker(WhitespaceCounter(), chunk_size=32, chunk_overlap=8)
    a = list(chunker.chunks([_doc(40)]))
    b = list(chunker.chunks([_doc(40)]))
    assert len(a) > 5
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert all(c.n_tokens <= 32 for c in a)
    assert [c.position for c in a] == list(range(len(a)))
    assert a[0].chunk_id == chunk_id_for("doc-1", 0)
    assert all(c.doc_id == "doc-1" and c.metadata["title"] == "T" for c in a)


def test_streamed_parts_continue_positions() -> None:
    chunker = Chunker(WhitespaceCounter(), chunk_size=16, chunk_overlap=0)
    parts = [
        Document("big", "one two three four. five six.", {"part": 0}),
        Document("big", "seven eight nine ten.", {"part": 1}),
    ]
    chunks = list(chunker.chunks(parts))
    assert [c.position for c in chunks] == [0, 1]
    assert len({c.chunk_id for c in chunks}) == 2


def test_blank_documents_give_no_chunks() -> None:
    assert list(Chunker(WhitespaceCounter(), 16, 0).chunks([Document("e", "   \n ")])) == []


@pytest.mark.parametrize(
    ("size", "overlap", "msg"),
    [
        (8, 0, "chunk_size must be an int >= 16"),
        (32, 32, "chunk_overlap must be in"),
        (32, -1, "chunk_overlap must be in"),
    ],
)
def test_chunker_validates(size: int, overlap: int, msg: str) -> None:
    with pytest.raises(InvalidInput, match=msg):
        Chunker(WhitespaceCounter(), size, overlap)
