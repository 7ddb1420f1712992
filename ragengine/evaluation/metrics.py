"""Per-question scores for the eval harness: answer quality, context quality, retrieval, cost.

Every per-question score returns a float in {0.0, 1.0} (or 0..1 for F1 and nDCG) so the harness
can average and bootstrap them without casting. Answer scores use the official SQuAD v1.1
normalisation, so numbers are comparable with published ones:

>>> exact_match("The Denver Broncos!", ["Denver Broncos"])
1.0
>>> round(f1("Denver Broncos won", ["Denver Broncos"]), 3)
0.8
>>> answer_accuracy("It was the Denver Broncos.", ["Denver Broncos"])
1.0

A small reader answers in sentences, so exact match is 0 for it; ``answer_accuracy`` (gold
contained in the prediction on token boundaries) is the score that tells readers apart.
"""

from __future__ import annotations

import itertools
import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from ragengine.errors import InvalidInput

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """Official SQuAD v1.1 normalisation: lower, drop ASCII punctuation, drop a/an/the, collapse spaces.

    Kept byte-for-byte with the official script (same order of steps): only ``string.punctuation``
    is removed, so non-ASCII punctuation such as curly quotes or en dashes survives, as it does in
    every published SQuAD number. Lower-casing is Unicode-aware (``"É"`` becomes ``"é"``).
    """
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a str, got {type(value).__name__}: {value!r:.60}")
    return value


def _check_golds(golds: object) -> list[str]:
    # A bare str is iterable, and would silently be scored as a list of characters.
    if isinstance(golds, str) or not isinstance(golds, Sequence):
        raise InvalidInput(f"golds must be a list of answer strings, got {type(golds).__name__}: {golds!r:.60}")
    for g in golds:
        _check_text(g, "each gold answer")
    return list(golds)


def _f1_one(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:  # SQuAD v2.0 rule: empty matches only empty
        return float(pred_tokens == gold_tokens)
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(pred: str, golds: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised gold.

    An empty gold list means "unanswerable" and is scored as the SQuAD v2.0 script does, against
    the single gold ``""`` (only an empty prediction matches); use ``abstention_correct`` to score
    abstentions phrased in words.
    """
    p = normalize_answer(_check_text(pred, "pred"))
    return float(any(p == normalize_answer(g) for g in _check_golds(golds) or [""]))


def f1(pred: str, golds: Sequence[str]) -> float:
    """Official SQuAD token-overlap F1 (bag of normalised tokens), max over golds, in 0..1."""
    p = normalize_answer(_check_text(pred, "pred")).split()
    return max(_f1_one(p, normalize_answer(g).split()) for g in _check_golds(golds) or [""])


def _contains(haystack: str, golds: Sequence[str], what: str) -> float:
    golds = _check_golds(golds)
    if not golds:
        raise InvalidInput(
            f"golds is empty, so {what} is undefined; score unanswerable questions with abstention_correct"
        )
    hay = normalize_answer(haystack)
    padded = f" {hay} "
    for g in golds:
        ng = normalize_answer(g)
        # A gold that normalises to nothing ("the", "!") would be "contained" in every text.
        if (ng and f" {ng} " in padded) or (not ng and not hay):
            return 1.0
    return 0.0


def answer_accuracy(pred: str, golds: Sequence[str]) -> float:
    """1.0 if any normalised gold occurs in the normalised prediction as whole tokens.

    Padding both sides with a space makes "1" not match inside "1990" and "ford" not match
    "stanford". Raises ``InvalidInput`` for an empty gold list (unanswerable questions).
    """
    return _contains(_check_text(pred, "pred"), golds, "answer_accuracy")


def answer_in_context(context: str, golds: Sequence[str]) -> float:
    """1.0 if any gold answer occurs (as ``answer_accuracy`` defines it) in the selected context.

    This is the reader-independent upper bound of a selection: a reader cannot copy an answer
    it was not given.
    """
    return _contains(_check_text(context, "context"), golds, "answer_in_context")


def _check_ids(ids: object, name: str) -> list[str]:
    if isinstance(ids, str) or not isinstance(ids, Iterable):
        raise InvalidInput(f"{name} must be a collection of doc ids, got {type(ids).__name__}: {ids!r:.60}")
    return list(ids)


def all_supporting_in_context(selected_doc_ids: Iterable[str], supporting_ids: Iterable[str]) -> float:
    """1.0 if every supporting paragraph (multi-hop gold) is among the selected documents.

    Multi-hop questions need all their hops; one missing paragraph breaks the chain, so partial
    credit would overstate what a reader can do.
    """
    selected = set(_check_ids(selected_doc_ids, "selected_doc_ids"))
    supporting = set(_check_ids(supporting_ids, "supporting_ids"))
    if not supporting:
        raise InvalidInput("supporting_ids is empty; every multi-hop question needs at least one supporting doc id")
    return float(supporting <= selected)


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInput(f"k must be a positive int, got {k!r}")
    return k


def _check_ranking(ranked: object) -> list[str]:
    ranked_list = _check_ids(ranked, "ranked_doc_ids")
    seen: set[str] = set()
    for d in ranked_list:
        if d in seen:
            # pytrec_eval scores a run dict, where a doc cannot appear twice; a duplicate here is a bug upstream.
            raise InvalidInput(f"ranked_doc_ids lists {d!r} twice; deduplicate the ranking (keep the first)")
        seen.add(d)
    return ranked_list


def ndcg_at_k(ranked_doc_ids: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k as BEIR computes it with pytrec_eval (``ndcg_cut``).

    Gain is the relevance grade itself (not 2**rel - 1), the discount is log2(rank + 1) with ranks
    from 1, and the ideal ranking sorts all judged grades of the query, so relevant documents that
    were never retrieved still lower the score. Grades <= 0 count as non-relevant. A query with
    no relevant document scores 0.0, as in pytrec_eval.
    """
    k = _check_k(k)
    ranked = _check_ranking(ranked_doc_ids)
    if not isinstance(qrels, Mapping):
        raise InvalidInput(f"qrels must be a dict doc_id -> relevance grade, got {type(qrels).__name__}")
    dcg = sum(max(qrels.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], relevant_set: Iterable[str], k: int) -> float:
    """Share of the relevant documents found in the top k (BEIR's Recall@k)."""
    k = _check_k(k)
    top = set(_check_ranking(ranked)[:k])
    relevant = set(_check_ids(relevant_set, "relevant_set"))
    if not relevant:
        raise InvalidInput("relevant_set is empty, so recall is undefined; drop queries without relevant documents")
    return len(top & relevant) / len(relevant)


# Phrases a reader uses to decline. Matched on the lower-cased prediction with curly apostrophes
# straightened. Kept specific ("not mentioned in the context", not "not mentioned") because a real
# answer may contain a bare negation; an empty prediction is an abstention (SQuAD v2.0 convention).
ABSTENTION_PATTERNS: tuple[str, ...] = (
    r"\bi (?:do not|don't|dont) know\b",
    r"\b(?:cannot|can't|can not|unable to|not able to) (?:be )?(?:answer(?:ed)?|determined?|find|found|tell)\b",
    r"\b(?:not enough|insufficient|no) (?:relevant )?(?:information|context|evidence|data)\b",
    r"\b(?:unanswerable|no answer)\b",
    (
        r"\b(?:context|passage|text|documents?|sources?) (?:does not|doesn't|do not|don't) "
        r"(?:say|mention|specify|state|contain|provide|include)\b"
    ),
    r"\bnot (?:mentioned|specified|stated|provided|given|found) in the (?:context|passage|text|documents?)\b",
)
_ABSTAIN = re.compile("|".join(ABSTENTION_PATTERNS))


def is_abstention(pred: str) -> bool:
    """True if the prediction declines to answer (empty, or matches ``ABSTENTION_PATTERNS``)."""
    text = _check_text(pred, "pred").lower().replace("\u2019", "'").replace("\u2018", "'")
    return not text.strip() or _ABSTAIN.search(text) is not None


def abstention_correct(pred: str, is_unanswerable: bool) -> float:
    """1.0 if the reader abstained exactly when the question is unanswerable (SQuAD v2.0 style)."""
    if not isinstance(is_unanswerable, bool):
        raise InvalidInput(f"is_unanswerable must be a bool, got {type(is_unanswerable).__name__}: {is_unanswerable!r}")
    return float(is_abstention(pred) == is_unanswerable)


def _finite(x: object, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise InvalidInput(f"{name} must be a finite number, got {x!r}")
    return float(x)


def accuracy_per_1k_tokens(acc: float, tokens: float) -> float:
    """Accuracy bought per 1,000 tokens spent: ``acc * 1000 / tokens``; the cost-efficiency axis of reports."""
    a, t = _finite(acc, "acc"), _finite(tokens, "tokens")
    if not 0.0 <= a <= 1.0:
        raise InvalidInput(f"acc must be in [0, 1], got {a}")
    if t <= 0:
        raise InvalidInput(f"tokens must be > 0, got {t}; a run that spent no tokens has no cost efficiency")
    return a * 1000.0 / t


def area_under_curve(points: Sequence[tuple[float, float]]) -> float:
    """Mean accuracy over a token-budget range: trapezoid area under (tokens, acc), divided by the x-range.

    Points are sorted by tokens first. Dividing by (max tokens - min tokens) puts the result on the
    accuracy scale (0..1 for accuracies in 0..1), so one number summarises a budget sweep. It is
    comparable only between curves measured over the same budget range. Needs at least two points
    with distinct token values; a repeated token value is ambiguous and rejected.
    """
    if isinstance(points, str) or not isinstance(points, Sequence) or len(points) < 2:
        raise InvalidInput(f"points must be a list of at least two (tokens, acc) pairs, got {points!r:.80}")
    pairs: list[tuple[float, float]] = []
    for p in points:
        if not isinstance(p, Sequence) or len(p) != 2:
            raise InvalidInput(f"each point must be a (tokens, acc) pair, got {p!r}")
        pairs.append((_finite(p[0], "tokens"), _finite(p[1], "acc")))
    pairs.sort()
    xs = [x for x, _ in pairs]
    if len(set(xs)) != len(xs):
        raise InvalidInput(f"points repeat a token value ({sorted(xs)}); average repeated runs first")
    area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(pairs))
    return area / (xs[-1] - xs[0])
