"""Answer hygiene: the reply's first line with content, no preamble, no quotes around the answer."""

from __future__ import annotations

import pytest

from ragengine.generate.prompt import clean_answer


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("The answer to this question is: 2022", "2022"),
        ("The answer to this question is:\n1998", "1998"),
        ("\n\nThe answer is Robert Lane and Benjamin Vail", "Robert Lane and Benjamin Vail"),
        ('"1998".', "1998."),
        ("Based on the context, the answer is Paris.", "Paris."),
        ('"a" and "b"', '"a" and "b"'),
        ("The answer to this question is:", ""),
        ("Answer: 42\nmore text", "42"),
    ],
)
def test_clean_answer(reply: str, answer: str) -> None:
    assert clean_answer(reply) == answer
