"""The shared word, stem and stopword helpers."""

from __future__ import annotations

from ragengine.text import STOPWORDS, content_words, terms, words


def test_terms_drop_stopwords_and_stem() -> None:
    assert words("Who FOUNDED it?") == ["who", "founded", "it"]
    assert content_words("Who founded the city?") == ["founded", "city"]
    assert terms("founded founder") == ["found", "founder"]
    assert {"the", "who", "is"} <= STOPWORDS and "river" not in STOPWORDS
