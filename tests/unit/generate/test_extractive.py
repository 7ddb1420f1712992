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


def test_markup_is_stripped_and_the_answer_sentence_beats_its_neighbour() -> None:
    doc = (
        "# Path Parameters\n/// tip\nYou can declare path **parameters** with `{item_id}`.\n///\n"
        "{* ../../docs_src/path_params/tutorial001.py hl[6:7] *}\n"
        "The default timeout of a request is `600` seconds. Requests can also be retried."
    )
    out = ExtractiveGenerator().generate("What is the default timeout of a request?", [doc])
    assert out.text == "The default timeout of a request is 600 seconds."


def test_a_year_answers_when_among_sentences_with_the_same_question_words() -> None:
    out = ExtractiveGenerator().generate(
        "When was Sky Digital launched?",
        ["Sky Digital was launched by BSkyB with a large advertising campaign. Sky Digital was launched in 1998."],
    )
    assert out.text == "Sky Digital was launched in 1998."
