"""Prompt assembly: the grounded short-answer instruction and the context exactly as sent.

The context is the selected chunks' texts joined by a blank line, in the selector's order.
A block's cost is its own tokens plus one separator; the pipeline re-counts the assembled
string exactly, so the budget guarantee does not rest on that sum.
"""

from __future__ import annotations

from collections.abc import Sequence

SEPARATOR = "\n\n"
SYSTEM = (
    "You answer questions using only the context. Reply with the answer alone: a few words, "
    "a name, a number or a date, not a sentence. If the context does not contain the answer, "
    "reply: I don't know."
)
ABSTAIN = "I don't know."


def format_context(texts: Sequence[str]) -> str:
    return SEPARATOR.join(t.strip() for t in texts)


def user_message(question: str, contexts: Sequence[str]) -> str:
    return f"Context:\n{format_context(contexts)}\n\nQuestion: {question.strip()}\nAnswer:"


def chat_messages(question: str, contexts: Sequence[str]) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_message(question, contexts)}]


def clean_answer(text: str) -> str:
    """First line of the reply, without a leading 'Answer:' echo."""
    text = text.strip()
    line = text.splitlines()[0].strip() if text else ""
    for prefix in ("Answer:", "answer:", "A:"):
        if line.startswith(prefix):
            line = line[len(prefix) :].strip()
    return line
