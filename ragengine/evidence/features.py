"""Cheap signals that a sentence holds the answer to a question, for the evidence scorer.

Every feature is relative to the question and to the other candidate sentences of the same
question (an IDF over those sentences, a share of the best match), never to one corpus, so that
a model fit on one dataset's questions carries to another's. No encoder runs: a few hundred
sentences are featurised in a few milliseconds on one core.

Families: question-term recall (exact, IDF-weighted, stemmed, bigrams), the same for the
neighbouring sentences and the whole passage (context), the passage's retrieval rank and scores,
answer-type cues (a year for "when", a number for "how many", a new name for "who"/"where"),
novelty (the answer is a word the question does not have), length and position.

>>> names = FEATURES
>>> rows = featurize("When was Sky launched?", [["Sky was launched in 1998.", "It is big."]], [0.9], [0])
>>> rows.shape == (2, len(names)), float(rows[0, names.index("wrecall")]) > float(rows[1, names.index("wrecall")])
(True, True)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from ragengine.text import STOPWORDS, content_words, stem_words, words

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b")
_NUMBER = re.compile(
    r"\b[0-9][0-9,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b", re.I
)
_MONTH = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December|century|centuries)\b"
)
_CAP = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")
_PRONOUN = re.compile(r"^(?:It|He|She|They|This|These|Those|Its|His|Her|Their|That|Such|The latter|The former)\b")

WH_CLASSES = ("when", "howmany", "who", "where", "which", "what", "why", "other")
FEATURES: tuple[str, ...] = (
    "bias",
    "wrecall",
    "recall",
    "stem_wrecall",
    "bigram",
    "wrecall_share",
    "wrecall_gap",
    "is_best_in_passage",
    "prev_wrecall",
    "next_wrecall",
    "passage_wrecall",
    "passage_share",
    "inv_rank",
    "log_rank",
    "score_share",
    "novelty",
    "log_tokens",
    "first",
    "rel_position",
    "dependent",
    "when_year",
    "howmany_number",
    "who_name",
    "where_name",
    "any_year",
    "any_number",
    "any_name",
    "wrecall_x_rank",
    "wrecall_sq",
)


def wh_class(question: str) -> str:
    """The question's answer type, from its wh-word: one of ``WH_CLASSES``."""
    q = question.lower()
    if re.search(r"\bhow (many|much|long|old|far|large|big|tall|high)\b|\bwhat (percentage|number|amount)\b", q):
        return "howmany"
    if re.search(r"\bwhen\b|\bwhat (year|date|day|month|century|decade|time)\b|\bwhich (year|century)\b", q):
        return "when"
    for key in ("who", "where", "which", "what", "why"):
        if re.search(rf"\b{key}\b|\bwhose\b" if key == "who" else rf"\b{key}\b", q):
            return key
    return "other"


def _weighted(q_terms: Sequence[str], idf: dict[str, float], have: set[str]) -> float:
    total = sum(idf[t] for t in q_terms)
    return sum(idf[t] for t in q_terms if t in have) / total if total > 0 else 0.0


def featurize(
    question: str,
    passages: Sequence[Sequence[str]],
    scores: Sequence[float],
    ranks: Sequence[int],
) -> np.ndarray:
    """One row of ``FEATURES`` per sentence, passages in order and sentences in order within each.

    ``passages[j]``: the sentences of candidate j; ``scores[j]``/``ranks[j]``: its retrieval score
    (any scale, compared only with the other candidates') and 0-based rank.
    """
    sent_words = [[set(content_words(s)) for s in p] for p in passages]
    n_sent = sum(len(p) for p in sent_words)
    df: dict[str, int] = {}
    for passage_words in sent_words:
        for ws in passage_words:
            for w in ws:
                df[w] = df.get(w, 0) + 1
    q_terms = list(dict.fromkeys(content_words(question)))
    idf = {t: math.log(1.0 + (n_sent + 1) / (1.0 + df.get(t, 0))) for t in q_terms}
    q_stemmed = stem_words(q_terms)
    q_stems = list(dict.fromkeys(q_stemmed))
    s_idf: dict[str, float] = {}
    for t, st in zip(q_terms, q_stemmed, strict=True):
        s_idf[st] = max(s_idf.get(st, 0.0), idf[t])
    q_all = words(question)
    q_bigrams = {(a, b) for a, b in pairwise(q_all) if a not in STOPWORDS or b not in STOPWORDS}
    q_lower = set(q_all)
    wh = wh_class(question)
    top = max((float(s) for s in scores), default=0.0)
    low = min((float(s) for s in scores), default=0.0)

    rows: list[list[float]] = []
    wrec_all: list[float] = []
    for j in range(len(passages)):
        wrec_all.extend(_weighted(q_terms, idf, ws) for ws in sent_words[j])
    best = max(wrec_all, default=0.0)
    second = sorted(wrec_all)[-2] if len(wrec_all) > 1 else 0.0
    k = 0
    for j, p in enumerate(passages):
        passage_set = set().union(*sent_words[j]) if sent_words[j] else set()
        p_rec = _weighted(q_terms, idf, passage_set)
        rec = wrec_all[k : k + len(p)]
        k += len(p)
        p_best = max(rec, default=0.0)
        rank = int(ranks[j])
        share = (float(scores[j]) - low) / (top - low) if top > low else 1.0
        for i, sent in enumerate(p):
            ws = sent_words[j][i]
            all_w = words(sent)
            stems = set(stem_words(list(ws)))
            bigrams = set(pairwise(all_w))
            new = [w for w in ws if w not in q_lower]
            cues_year = bool(_YEAR.search(sent) or _MONTH.search(sent))
            nums = [m.group(0).lower() for m in _NUMBER.finditer(sent)]
            cues_number = any(n not in q_lower for n in nums)
            cues_name = any(m.group(0).lower() not in q_lower for m in _CAP.finditer(sent))
            wr = rec[i]
            rows.append(
                [
                    1.0,
                    wr,
                    sum(t in ws for t in q_terms) / len(q_terms) if q_terms else 0.0,
                    _weighted(q_stems, s_idf, stems),
                    len(q_bigrams & bigrams) / len(q_bigrams) if q_bigrams else 0.0,
                    wr / best if best > 0 else 0.0,
                    wr - (second if wr >= best else best),
                    float(wr >= p_best and wr > 0),
                    rec[i - 1] if i > 0 else 0.0,
                    rec[i + 1] if i + 1 < len(p) else 0.0,
                    p_rec,
                    p_rec / max(best, 1e-9) if best > 0 else 0.0,
                    1.0 / (1.0 + rank),
                    math.log1p(rank),
                    share,
                    len(new) / len(ws) if ws else 0.0,
                    math.log1p(len(all_w)),
                    float(i == 0),
                    i / max(1, len(p) - 1),
                    float(bool(_PRONOUN.match(sent.strip()))),
                    float(wh == "when" and cues_year),
                    float(wh == "howmany" and cues_number),
                    float(wh == "who" and cues_name),
                    float(wh == "where" and cues_name),
                    float(cues_year),
                    float(cues_number),
                    float(cues_name),
                    wr / (1.0 + rank),
                    wr * wr,
                ]
            )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
