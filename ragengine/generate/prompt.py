"""Prompt assembly: the grounded short-answer instruction and the context exactly as sent.

The context is the selected chunks' texts joined by a blank line, in the selector's order.
A block's cost is its own tokens plus one separator; the pipeline re-counts the assembled
string exactly, so the budget guarantee does not rest on that sum.

The defaults below were chosen on SQuAD v1.1 dev articles 1-24 (the tune half) with
SmolLM2-135M-Instruct; every variant tried and its scores are in eval/results/prompt-tuning.md
(``ragengine.training.prompt_tuning``). ``STOP`` lists where a reply ends: a generator
passes it to the backend as stop sequences, and ``clean_answer`` applies it again so that a
backend without stop sequences gives the same text.

>>> clean_answer("Answer: 1998\\nmore text")
'1998'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragengine.text import SEPARATOR, format_context, plain_text
from ragengine.tokens import TokenCounter

__all__ = ["SEPARATOR", "chat_messages", "clean_answer", "format_context", "separator_cost", "user_message"]

SYSTEM = (
    "You answer questions using only the context. Reply with the answer alone: a few words, "
    "a name, a number or a date, not a sentence. If the context does not contain the answer, "
    "reply: I don't know."
)
ABSTAIN = "I don't know."
# Appended after "Question: ...": a last reminder, right where the model starts writing.
INSTRUCTION = ""
# Worked examples sent as earlier chat turns: (context, question, answer). Written for this
# purpose, not taken from any benchmark.
EXAMPLES: tuple[tuple[str, str, str], ...] = ()
STOP: tuple[str, ...] = ("\n",)

FEW_SHOT: tuple[tuple[str, str, str], ...] = (
    (
        "The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It is 330 metres tall.",
        "When was the Eiffel Tower completed?",
        "1889",
    ),
    (
        "Marie Curie shared the 1903 Nobel Prize in Physics with Pierre Curie and Henri Becquerel.",
        "Who shared the 1903 Nobel Prize in Physics with Marie Curie?",
        "Pierre Curie and Henri Becquerel",
    ),
)


def separator_cost(counter: TokenCounter) -> int:
    """Tokens one block separator adds: the separator alone, or what it adds between two words
    (a tokenizer may merge it with its neighbours), whichever is more."""
    return max(counter.count(SEPARATOR), counter.count(f"x{SEPARATOR}y") - counter.count("x") - counter.count("y"))


def user_message(question: str, contexts: Sequence[str], *, instruction: str | None = None) -> str:
    tail = INSTRUCTION if instruction is None else instruction
    tail = f"\n{tail}" if tail else ""
    context = format_context([plain_text(t) for t in contexts])
    return f"Context:\n{context}\n\nQuestion: {plain_text(question.strip())}{tail}\nAnswer:"


def chat_messages(
    question: str,
    contexts: Sequence[str],
    *,
    system: str | None = None,
    examples: Sequence[tuple[str, str, str]] | None = None,
    instruction: str | None = None,
) -> list[dict[str, str]]:
    """System turn, optional worked examples as earlier turns, then the question with its context."""
    msgs = [{"role": "system", "content": SYSTEM if system is None else system}]
    for ctx, q, a in EXAMPLES if examples is None else examples:
        msgs.append({"role": "user", "content": user_message(q, [ctx], instruction=instruction)})
        msgs.append({"role": "assistant", "content": a})
    msgs.append({"role": "user", "content": user_message(question, contexts, instruction=instruction)})
    return msgs


_PREFIXES = ("Answer:", "answer:", "A:")
# "The answer to this question is:", "The answer is", "Based on the context, ..." preambles.
_PREAMBLE = re.compile(
    r"^(?:based on the (?:given |provided )?context,?\s*)?(?:the )?(?:correct |short )?answer"
    r"(?: to (?:this|the|your) question)?\s*(?:is|would be)\s*:?\s*",
    re.IGNORECASE,
)


def cut_at_stops(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the first occurrence of any stop sequence (as a backend's stop would end it)."""
    cut = len(text)
    for s in stops:
        i = text.find(s)
        if s and 0 <= i < cut:
            cut = i
    return text[:cut]


def clean_answer(text: str, stops: Sequence[str] | None = None) -> str:
    """The reply's first line with content, up to the first stop sequence (``STOP``), without an
    'Answer:' echo, a "The answer to this question is:" preamble or quotes around the whole answer.

    >>> clean_answer('The answer to this question is:\\n"1998".')
    '1998.'
    """
    for raw in text.strip().splitlines():
        line = raw.strip()
        for prefix in _PREFIXES:
            if line.startswith(prefix):
                line = line[len(prefix) :].strip()
        line = _PREAMBLE.sub("", cut_at_stops(line, STOP if stops is None else stops).strip()).strip()
        if len(line) >= 2 and line[0] in "\"'" and line[0] in line[1:]:
            inner, rest = line[1:].split(line[0], 1)
            line = inner + rest if rest.strip() in ("", ".") else line
        if line:
            return line
    return ""
