"""Sentence packing: never over the cap, document order, repeats skipped, a long best sentence kept alone."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ragengine.cluster.sentences import SentenceTable, join_sentences, pack_sentences, split_chunks
from ragengine.testing import HashEmbedder, WhitespaceCounter

TEXTS = [
    "Alpha beta gamma. Delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho.",
    "Alpha beta gamma. Sigma tau upsilon. Phi chi psi omega.",
]


def table() -> SentenceTable:
    rows, spans, tokens, sents = split_chunks(TEXTS, WhitespaceCounter())
    return SentenceTable(rows, spans, tokens, HashEmbedder(64).embed(sents).astype(np.float16))


def test_pack_skips_repeated_text_and_keeps_document_order() -> None:
    t = table()
    ids = pack_sentences([3, 2, 0], t, TEXTS, WhitespaceCounter(), cap=20)
    assert ids == [2, 3]  # sentence 0 repeats the text of sentence 2 ("Alpha beta gamma.")


def test_long_first_sentence_is_kept_alone_with_first_cap() -> None:
    t = table()
    assert pack_sentences([1, 0], t, TEXTS, WhitespaceCounter(), cap=8) == [0]
    assert pack_sentences([1, 0], t, TEXTS, WhitespaceCounter(), cap=8, first_cap=16) == [1]


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(list(range(5))), cap=st.integers(min_value=1, max_value=30))
def test_pack_never_exceeds_the_cap(order: list[int], cap: int) -> None:
    t = table()
    ids = pack_sentences(order, t, TEXTS, WhitespaceCounter(), cap=cap)
    assert WhitespaceCounter().count(join_sentences([t.text(i, TEXTS) for i in ids])) <= cap
    assert ids == sorted(ids)
