"""Metrics against hand-computed values and the official SQuAD / pytrec_eval conventions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragengine.errors import InvalidInput
from ragengine.evaluation.metrics import (
    abstention_correct,
    accuracy_per_1k_tokens,
    all_supporting_in_context,
    answer_accuracy,
    answer_in_context,
    area_under_curve,
    exact_match,
    f1,
    is_abstention,
    ndcg_at_k,
    normalize_answer,
    recall_at_k,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Cat", "cat"),  # case + leading article
        ("  A  man,  a plan!  ", "man plan"),  # articles anywhere, punctuation, runs of spaces
        ("Theory of the the", "theory of"),
        ("Anthem theatre", "anthem theatre"),  # articles only as whole words
        ("U.S.A.", "usa"),  # punctuation removed, not replaced by a space
        ("the-end", "theend"),  # punctuation goes before articles, as in the official script
        ("don't", "dont"),
        ("\tfoo\n bar\u00a0baz ", "foo bar baz"),  # tabs, newlines, no-break space
        ("Café ÉCOLE", "café école"),  # unicode lower-casing
        ("1914\u20131918", "1914\u20131918"),  # en dash is not ASCII punctuation: kept (official)
        ("1914-1918", "19141918"),
        ("\u201cHello\u201d", "\u201chello\u201d"),  # curly quotes kept (official)
        ("", ""),
        ("a an the", ""),
    ],
)
def test_normalize_answer_matches_official_squad(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_exact_match() -> None:
    assert exact_match("the Denver Broncos!", ["Denver Broncos"]) == 1.0
    assert exact_match("Broncos", ["Denver Broncos"]) == 0.0
    assert exact_match("Broncos", ["Denver Broncos", "broncos"]) == 1.0
    # Empty gold list = unanswerable, scored as SQuAD v2.0 does (gold "").
    assert exact_match("", []) == 1.0
    assert exact_match("Denver", []) == 0.0


def test_f1_hand_computed() -> None:
    assert f1("Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)  # P 2/3, R 1
    # norm: "cat sat on mat" vs "cat on mat": 3 common, P 3/4, R 1 -> 6/7
    assert f1("the cat sat on the mat", ["a cat on a mat"]) == pytest.approx(6 / 7)
    # bag of tokens: min counts x:1, y:1 -> 2 common, P = R = 2/3
    assert f1("x x y", ["x y y"]) == pytest.approx(2 / 3)
    assert f1("Denver", ["Denver Broncos", "denver"]) == 1.0  # max over golds
    assert f1("Carolina", ["Denver Broncos"]) == 0.0
    assert f1("", []) == 1.0 and f1("x", []) == 0.0
    assert f1("the", ["a"]) == 1.0  # both normalise to nothing: v2.0 rule


def test_answer_accuracy_token_boundaries() -> None:
    assert answer_accuracy("It was the Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert answer_accuracy("In 1990.", ["1"]) == 0.0  # "1" is not a token of "1990"
    assert answer_accuracy("At Stanford", ["Ford"]) == 0.0
    assert answer_accuracy("Broncos", ["Denver Broncos"]) == 0.0
    assert answer_accuracy("Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert answer_accuracy("anything at all", ["The"]) == 0.0  # a gold that normalises to nothing


def test_answer_in_context() -> None:
    ctx = "Super Bowl 50 was won by the Denver Broncos, who beat the Carolina Panthers 24–10."
    assert answer_in_context(ctx, ["Carolina Panthers"]) == 1.0
    assert answer_in_context(ctx, ["24–10"]) == 1.0
    assert answer_in_context(ctx, ["Panther"]) == 0.0


@pytest.mark.parametrize("fn", [answer_accuracy, answer_in_context])
def test_containment_validation(fn: object) -> None:
    assert callable(fn)
    with pytest.raises(InvalidInput, match="golds is empty"):
        fn("x", [])
    with pytest.raises(InvalidInput, match="golds must be a list"):
        fn("x", "Denver")
    with pytest.raises(InvalidInput, match="each gold answer must be a str"):
        fn("x", ["ok", 3])
    with pytest.raises(InvalidInput, match="must be a str, got NoneType"):
        fn(None, ["x"])


def test_em_f1_validation() -> None:
    with pytest.raises(InvalidInput, match="golds must be a list"):
        exact_match("x", "x")
    with pytest.raises(InvalidInput, match="pred must be a str"):
        f1(None, ["x"])  # type: ignore[arg-type]


def test_all_supporting_in_context() -> None:
    assert all_supporting_in_context(["a", "b", "c"], ["a", "c"]) == 1.0
    assert all_supporting_in_context(["a"], {"a", "b"}) == 0.0
    with pytest.raises(InvalidInput, match="supporting_ids is empty"):
        all_supporting_in_context(["a"], [])
    with pytest.raises(InvalidInput, match="supporting_ids must be a collection"):
        all_supporting_in_context(["a"], "a")
    with pytest.raises(InvalidInput, match="selected_doc_ids must be a collection"):
        all_supporting_in_context("ab", ["a"])


def test_ndcg_by_hand() -> None:
    qrels = {"d1": 2, "d2": 1, "d3": 1}
    ranked = ["d2", "x", "d1"]
    dcg = 1 / math.log2(2) + 0 + 2 / math.log2(4)  # = 2
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, qrels, k=10) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(ranked, qrels, k=10) == pytest.approx(0.6387879, abs=1e-7)
    # cut at 2: DCG 1, ideal 2 + 1/log2(3)
    assert ndcg_at_k(ranked, qrels, k=2) == pytest.approx(1 / (2 + 1 / math.log2(3)))
    assert ndcg_at_k(["d1", "d3", "d2"], qrels) == pytest.approx(1.0)
    assert ndcg_at_k(["x"], qrels) == 0.0
    assert ndcg_at_k(["d1"], {"d1": 0}) == 0.0  # no relevant doc: 0, as pytrec_eval
    assert ndcg_at_k([], qrels) == 0.0


def test_ndcg_validation() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InvalidInput, match="k must be a positive int"):
            ndcg_at_k(["a"], {"a": 1}, k=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="lists 'a' twice"):
        ndcg_at_k(["a", "b", "a"], {"a": 1})
    with pytest.raises(InvalidInput, match="qrels must be a dict"):
        ndcg_at_k(["a"], [("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="ranked_doc_ids must be a collection"):
        ndcg_at_k("abc", {"a": 1})


def test_recall_at_k() -> None:
    ranked = ["a", "b", "c", "d"]
    assert recall_at_k(ranked, {"b", "d", "z"}, k=2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, {"b", "d", "z"}, k=4) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, {"a"}, k=100) == 1.0
    with pytest.raises(InvalidInput, match="relevant_set is empty"):
        recall_at_k(ranked, set(), k=2)
    with pytest.raises(InvalidInput, match="k must be a positive int"):
        recall_at_k(ranked, {"a"}, k=0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "I don't know.",
        "I don\u2019t know the answer",
        "I do not know",
        "The answer cannot be determined from the passage.",
        "I can't answer that question.",
        "There is not enough information to answer.",
        "The context does not mention his birthplace.",
        "This is not mentioned in the context.",
        "Unanswerable",
        "No answer.",
    ],
)
def test_is_abstention_detects_refusals(text: str) -> None:
    assert is_abstention(text)


@pytest.mark.parametrize(
    "text", ["Denver Broncos", "He did not know the result.", "The prize was not given in 1940.", "1,000 tokens"]
)
def test_is_abstention_leaves_answers(text: str) -> None:
    assert not is_abstention(text)


def test_abstention_correct() -> None:
    assert abstention_correct("I don't know", True) == 1.0
    assert abstention_correct("Denver", True) == 0.0
    assert abstention_correct("Denver", False) == 1.0
    assert abstention_correct("I don't know", False) == 0.0
    with pytest.raises(InvalidInput, match="is_unanswerable must be a bool"):
        abstention_correct("x", 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="pred must be a str"):
        abstention_correct(None, True)  # type: ignore[arg-type]


def test_accuracy_per_1k_tokens() -> None:
    assert accuracy_per_1k_tokens(0.5, 250) == pytest.approx(2.0)
    assert accuracy_per_1k_tokens(0.0, 10) == 0.0
    with pytest.raises(InvalidInput, match="tokens must be > 0"):
        accuracy_per_1k_tokens(0.5, 0)
    with pytest.raises(InvalidInput, match=r"acc must be in \[0, 1\]"):
        accuracy_per_1k_tokens(1.5, 100)
    with pytest.raises(InvalidInput, match="acc must be a finite number"):
        accuracy_per_1k_tokens(float("nan"), 100)
    with pytest.raises(InvalidInput, match="tokens must be a finite number"):
        accuracy_per_1k_tokens(0.5, "100")  # type: ignore[arg-type]


def test_area_under_curve() -> None:
    # sorted: (128, .2) (256, .8) (512, .9): 128*1.0/2 + 256*1.7/2 = 281.6, over a range of 384
    pts = [(512, 0.9), (128, 0.2), (256, 0.8)]
    assert area_under_curve(pts) == pytest.approx(281.6 / 384)
    assert area_under_curve([(0, 0.5), (1000, 0.5)]) == pytest.approx(0.5)
    with pytest.raises(InvalidInput, match="at least two"):
        area_under_curve([(1, 0.5)])
    with pytest.raises(InvalidInput, match="repeat a token value"):
        area_under_curve([(1, 0.5), (1, 0.6), (2, 0.7)])
    with pytest.raises(InvalidInput, match=r"\(tokens, acc\) pair"):
        area_under_curve([(1, 0.5), (2,)])  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="acc must be a finite number"):
        area_under_curve([(1, 0.5), (2, float("inf"))])


_text = st.text(alphabet=st.sampled_from(list("abc theAN.,!-  \u00e9\u2013")), max_size=30)


@settings(max_examples=200, deadline=None)
@given(_text, _text)
def test_properties(a: str, b: str) -> None:
    assert normalize_answer(normalize_answer(a)) == normalize_answer(a)  # idempotent
    assert f1(a, [b]) == pytest.approx(f1(b, [a]))  # token F1 is symmetric
    assert exact_match(a, [a]) == 1.0 and f1(a, [a]) == 1.0 and answer_accuracy(a, [a]) == 1.0
    if exact_match(a, [b]):
        assert f1(a, [b]) == 1.0 and answer_accuracy(a, [b]) == 1.0
    assert 0.0 <= f1(a, [b]) <= 1.0
