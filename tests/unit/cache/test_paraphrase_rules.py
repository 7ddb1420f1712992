"""The rule-made paraphrases used to test the cache keep the question's signature (except synonyms)."""

from __future__ import annotations

import pytest

from ragengine.cache import same_question, signature
from ragengine.cache.paraphrase import FAMILIES, paraphrase

QUESTIONS = [
    "When did Tesla move to New York?",
    "Which NFL team represented the AFC at Super Bowl 50?",
    "Who won the game in 2015?",
    "How many people live in Warsaw?",
    "What is the largest city in Poland?",
]


@pytest.mark.parametrize("family", ["frame", "wh", "reorder", "casual"])
def test_meaning_preserving_families_keep_the_signature(family: str) -> None:
    made = [(q, paraphrase(q, family)) for q in QUESTIONS]
    applied = [(q, p) for q, p in made if p is not None]
    assert applied, f"family {family} applied to none of the questions"
    for q, p in applied:
        assert p != q
        ok, why = same_question(signature(q), signature(p))
        assert ok, f"{q!r} -> {p!r}: {why}"


def test_synonym_family_changes_a_content_word() -> None:
    p = paraphrase("What is the largest city in Poland?", "synonym")
    assert p == "What is the biggest city in Poland?"
    assert not same_question(signature("What is the largest city in Poland?"), signature(p))[0]


def test_rules_are_deterministic_and_reject_unknown_families() -> None:
    assert [paraphrase(q, f) for q in QUESTIONS for f in FAMILIES] == [
        paraphrase(q, f) for q in QUESTIONS for f in FAMILIES
    ]
    with pytest.raises(ValueError, match="unknown paraphrase family"):
        paraphrase("Who?", "shout")
