"""Words, stems and the stopword list shared by every stage that matches terms.

Selection rewards, the answer cache's question matcher, pseudo-relevance feedback, cluster
excerpts and the extractive reader all compare texts by content words; they take them from
here so that "content word" means one thing across the engine. Costs one regex pass and one
Snowball stemming call per text.

The term re-ranker keeps its own WordPiece-level mask (``rerank.term_weights``): it is part of
the shipped trained weights, and changing it would change what those weights mean.

>>> terms("Who founded the cities?")
['found', 'citi']
>>> content_words("Who founded the cities?")
['founded', 'cities']
"""

from __future__ import annotations

import re
from collections.abc import Callable

WORD = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    """a an and are as at be been but by can did do does for from had has have he her his how i if in
    into is it its me my no not of on or our she so than that the their them then there these they this
    to was we were what when where which who whom why will with would you your""".split()
)


def words(text: str) -> list[str]:
    """Lowercased word tokens (letters, digits, underscore)."""
    return WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """Lowercased word tokens without stopwords."""
    return [w for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def _stemmer() -> Callable[[list[str]], list[str]]:
    try:
        import Stemmer
    except ImportError:  # PyStemmer is a core dependency; without it terms are matched unstemmed
        return lambda ws: ws
    stem: Callable[[list[str]], list[str]] = Stemmer.Stemmer("english").stemWords
    return stem


stem_words = _stemmer()


def terms(text: str) -> list[str]:
    """Lowercased, Snowball-stemmed word tokens without stopwords (the unit of term coverage).

    Stemming makes "founded" cover "founder", as BM25 (bm25s, same stemmer) already does.
    """
    return list(stem_words(content_words(text)))
