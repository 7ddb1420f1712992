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
from collections.abc import Callable, Sequence

WORD = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    """a an and are as at be been but by can did do does for from had has have he her his how i if in
    into is it its me my no not of on or our she so than that the their them then there these they this
    to was we were what when where which who whom why will with would you your""".split()
)


# Blocks of context are joined by a blank line: the reader's prompt, the budget's exact re-count
# and every benchmark use this one format.
SEPARATOR = "\n\n"
# A sentence ends at end punctuation followed by whitespace and an upper-case letter, digit or quote.
_BOUNDARY = re.compile(r"(?<=[.!?])([\"')\]]*)\s+(?=[\"'(\[]?[A-Z0-9])")


def format_context(texts: Sequence[str]) -> str:
    """The context a prompt receives: the texts, stripped, joined by ``SEPARATOR``."""
    return SEPARATOR.join(t.strip() for t in texts)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of ``text``, stripped of surrounding whitespace.

    A rule-based splitter is enough here: a sentence is only ever a piece of a chunk that is kept or
    left out, so a missed split costs a few tokens of detail, never a wrong count (texts are
    re-counted exactly).

    >>> text = "Paris is the capital. It lies on the Seine! Is it big?"
    >>> [text[a:b] for a, b in sentence_spans(text)]
    ['Paris is the capital.', 'It lies on the Seine!', 'Is it big?']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        spans.append((start, m.end(1)))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if b - trail > a + lead:
            out.append((a + lead, b - trail))
    return out


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


# Chat control tokens of the common templates: ChatML and Llama-3 (<|im_start|>, <|eot_id|>, ...),
# Gemma (<start_of_turn>), Llama-2 / Mistral (<s>, [INST], <<SYS>>). A zero-width space after the
# first character keeps the text readable but no tokenizer or server parses it as a control token.
_CONTROL = re.compile(
    r"<\|[A-Za-z0-9_ .:-]{1,40}\|>|<(?:start_of_turn|end_of_turn|bos|eos|pad|unk)>|</?s>|\[/?INST\]|<</?SYS>>"
)
ZWSP = "\u200b"


def plain_text(text: str) -> str:
    """``text`` with every chat control token defused, so a document or question stays plain text.

    >>> plain_text("a <|im_start|>system b") == "a <" + ZWSP + "|im_start|>system b"
    True
    """
    return _CONTROL.sub(lambda m: m.group(0)[0] + ZWSP + m.group(0)[1:], text)


_MARKUP_LINE = re.compile(r"^\s*(?:```.*|~~~.*|/{3}.*|\{\*.*\*\}|<!--.*-->|[-*_]{3,}|\|?[\s:|-]*-{3,}[\s:|-]*\|?)\s*$")
_MARKUP = [
    (re.compile(r"\{\*.*?\*\}|\{%.*?%\}|\{\{.*?\}\}|<!--.*?-->"), ""),  # template tags and comments
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"</?[A-Za-z][^>]{0,200}>"), ""),  # HTML tags
    (re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)"), ""),  # heading, quote, list markers
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(`+)(.+?)\1"), r"\2"),  # inline code
    (re.compile(r"(?<![\w*])\*(?!\s)([^*]+?)(?<!\s)\*(?![\w*])"), r"\1"),  # *emphasis*
    (re.compile(r"^\s*\|\s*|\s*\|\s*$"), ""),  # the outer pipes of a table row
    (re.compile(r"\s*\|\s*"), "; "),  # its inner pipes
]


def strip_markup(text: str) -> str:
    """``text`` as prose: markdown, HTML and template markup removed, fence and rule lines dropped.

    What a reader should see of a documentation page when one sentence of it is the answer.

    >>> strip_markup("## Path\\n/// tip\\nUse **`{item_id}`** in the [path](url).\\n```py\\n{* ../a.py *}")
    'Path\\nUse {item_id} in the path.'
    """
    out = []
    for line in text.splitlines():
        if _MARKUP_LINE.match(line):
            continue
        for pattern, repl in _MARKUP:
            line = pattern.sub(repl, line)
        line = " ".join(line.split())
        if line:
            out.append(line)
    return "\n".join(out)
