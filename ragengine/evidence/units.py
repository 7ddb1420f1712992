"""Retrieved chunks as sentence units: the finer choice a budget can buy, each with its exact cost.

Every candidate chunk is split into sentences (``text.sentence_spans``). A sentence
costs its own tokens in the reader's tokenizer; the first sentence taken from a document also
pays for that document's header (its title and a newline), because the prompt places evidence in
one block per document under its title (``layout``). Costs are exact for each piece; the joined
context is re-counted when it is laid out, so a merge across a boundary can never overspend.

>>> from ragengine.testing import WhitespaceCounter, make_candidates
>>> units = split_units(make_candidates(["Paris is big. It lies on the Seine."]), WhitespaceCounter())
>>> [(u.text, u.tokens) for u in units.sentences]
[('Paris is big.', 3), ('It lies on the Seine.', 5)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from ragengine.text import sentence_spans
from ragengine.tokens import TokenCounter
from ragengine.types import Candidate, Chunk

HEADER_END = "\n"
# Cluster excerpts and summaries join sentences of several documents: a sentence's document is not
# known, so they are not split (their sentences are offered through the chunks they came from).
MIXED = ("excerpt", "summary")


@dataclass(frozen=True)
class Sentence:
    """One sentence of one candidate: where it sits, its text and its exact token count."""

    candidate: int
    index: int
    text: str
    tokens: int
    group: str


@dataclass(frozen=True)
class Units:
    """The sentences of a question's candidates, with each document's title and header cost."""

    candidates: tuple[Candidate, ...]
    sentences: tuple[Sentence, ...]
    titles: dict[str, str]
    header_tokens: dict[str, int]

    def cost(self, s: Sentence, docs: set[str], separator: int) -> int:
        """Tokens ``s`` adds to a context that already holds blocks of ``docs``: its own, plus its
        document's title line and one block separator when it opens that document's block."""
        return s.tokens + (0 if s.group in docs else self.header_tokens[s.group] + separator)

    def passages(self) -> list[list[str]]:
        """Sentence texts per candidate, in candidate order (what ``features.featurize`` takes)."""
        out: list[list[str]] = [[] for _ in self.candidates]
        for s in self.sentences:
            out[s.candidate].append(s.text)
        return out


def title_of(chunk: Chunk) -> str:
    """The chunk's document title: its ``title`` metadata, else a readable form of its doc id.

    A SQuAD-style id ``Super_Bowl_50#3`` reads "Super Bowl 50"; a file path reads as its name
    without the extension; a heading path in ``metadata["headings"]`` is appended.
    """
    title = chunk.metadata.get("title")
    if not isinstance(title, str) or not title.strip():
        base = chunk.doc_id.split("#", 1)[0]
        name = PurePath(base).name or base
        stem = PurePath(name).stem if "." in name and not name.startswith(".") else name
        title = stem.strip() or chunk.doc_id
    title = title.replace("_", " ")  # Wikipedia-style ids and titles (Sky_(United_Kingdom))
    headings = chunk.metadata.get("headings")
    if isinstance(headings, str) and headings.strip():
        title = f"{title} > {headings.strip()}"
    return " ".join(title.split())


def header(title: str) -> str:
    """The line that heads a document's block of evidence."""
    return f"{title}{HEADER_END}"


def sentence_texts(text: str) -> list[str]:
    """The sentences of ``text``, each with its whitespace collapsed to single spaces."""
    return [" ".join(text[a:b].split()) for a, b in sentence_spans(text)]


_CLAUSE = re.compile(r"(?<=[,;:])\s+|\s+(?=[-\u2013\u2014]\s)")


def clauses(sentence: str, counter: TokenCounter, max_tokens: int, min_tokens: int = 8) -> list[str]:
    """``sentence`` itself when it costs at most ``max_tokens``, else its clauses (split after a comma,
    semicolon or colon, or before a dash), adjacent ones merged while they stay within ``max_tokens``
    or are shorter than ``min_tokens``. Joined with single spaces they give the sentence back."""
    if counter.count(sentence) <= max_tokens:
        return [sentence]
    parts = [p for p in _CLAUSE.split(sentence) if p]
    out: list[str] = []
    for part in parts:
        if out and (counter.count(out[-1]) < min_tokens or counter.count(f"{out[-1]} {part}") <= max_tokens):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    if len(out) > 1 and counter.count(out[-1]) < min_tokens:
        out[-2:] = [f"{out[-2]} {out[-1]}"]
    return out


def split_units(candidates: Sequence[Candidate], counter: TokenCounter, max_tokens: int | None = None) -> Units:
    """Every sentence of every candidate (a repeat within a document once, none from a ``MIXED`` text).

    ``max_tokens``: a sentence longer than this is offered as its clauses (``clauses``), so a budget
    smaller than a long sentence can still buy the part that holds the answer; None: whole sentences.
    """
    sentences: list[Sentence] = []
    titles: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()  # overlapping chunks repeat sentences: each is offered once
    for j, c in enumerate(candidates):
        if c.chunk.metadata.get("granularity") in MIXED:
            continue
        titles.setdefault(c.chunk.doc_id, title_of(c.chunk))
        texts = sentence_texts(c.chunk.text)
        if max_tokens is not None:
            texts = [piece for t in texts for piece in clauses(t, counter, max_tokens)]
        for i, piece in enumerate(texts):
            if (c.chunk.doc_id, piece) not in seen:
                seen.add((c.chunk.doc_id, piece))
                sentences.append(Sentence(j, i, piece, max(1, counter.count(piece)), c.chunk.doc_id))
    headers = {doc: counter.count(header(t)) for doc, t in titles.items()}
    return Units(tuple(candidates), tuple(sentences), titles, headers)
