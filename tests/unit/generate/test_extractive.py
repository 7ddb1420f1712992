from __future__ import annotations

from ragengine.generate.extractive import ExtractiveGenerator
from ragengine.generate.prompt import clean_answer


def test_picks_the_sentence_sharing_rare_question_words() -> None:
    gen = ExtractiveGenerator()
    out = gen.generate(
        "When was Sky Digital launched?",
        ["Sky is a broadcaster. Sky Digital was launched in 1998 with 200 channels.", "Digital television grew."],
    )
    assert out.text == "Sky Digital was launched in 1998 with 200 channels."
    assert out.prompt_tokens == 0 and out.llm_calls == 0


def test_no_context_gives_empty_answer() -> None:
    assert ExtractiveGenerator().generate("Who?", []).text == ""


def test_clean_answer_takes_first_line_without_prefix() -> None:
    assert clean_answer("Answer: 1998\nmore text") == "1998"
    assert clean_answer("") == ""
