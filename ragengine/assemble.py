"""Budget -> context: the one place that turns a token budget into the context a prompt receives.

Every caller that places retrieved text in a prompt goes through here: the query pipeline, the
llama-index postprocessor and every benchmark. The rule has four parts:

1. ``candidate_costs``: each candidate's exact tokens in the prompt, one separator included,
   counted with the reader's own tokenizer (the chunk's stored count when the index was built
   with the same tokenizer).
2. ``context_budget``: the tokens the context may use: ``Budget.context_tokens``, shrunk to
   leave room for the prompt's own tokens, the answer and anything already spent when a total
   or dollar budget is set.
3. ``llm_allowance``: what a query rewrite may spend and still leave the answer call its minimum.
4. ``fit`` = ``choose`` (the selector under the context budget) + ``trim`` (join the chosen texts
   exactly as the prompt will, re-count, and drop the last unit while a tokenizer merge across a
   boundary made it longer).
   The context budget is therefore never exceeded, whatever the selector's arithmetic.

Cost: one tokenizer pass per candidate whose count is not stored, one per fitted context.

>>> from ragengine.testing import make_candidates
>>> from ragengine.tokens import get_token_counter
>>> from ragengine.select.greedy import GreedySelector
>>> counter = get_token_counter("whitespace")
>>> cands = make_candidates(["a b c", "d e", "f"])
>>> fitted = fit("q", cands, candidate_costs(cands, counter), 4, GreedySelector(), counter)
>>> fitted.context, fitted.tokens
('a b c\\n\\nf', 4)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragengine.budget import Budget, PriceTable
from ragengine.errors import InvalidInput
from ragengine.generate.base import Generator
from ragengine.generate.prompt import format_context, separator_cost
from ragengine.select.base import SelectionInput, Selector
from ragengine.tokens import TokenCounter
from ragengine.types import Candidate, Selection


def candidate_costs(candidates: Sequence[Candidate], counter: TokenCounter, index_tokenizer: str = "") -> list[int]:
    """Each candidate's exact tokens in the prompt, one separator included (at least 1)."""
    sep = separator_cost(counter)
    same = bool(index_tokenizer) and counter.name == index_tokenizer
    return [max(1, (x.chunk.n_tokens if same else counter.count(x.chunk.text.strip())) + sep) for x in candidates]


def reader_window(generator: Generator | None) -> int | None:
    """The reader's context window in tokens (``n_ctx``), where the generator knows it."""
    window = getattr(generator, "n_ctx", None)
    return int(window) if isinstance(window, int) and window > 0 else None


def check_fits(question: str, generator: Generator | None, max_new_tokens: int) -> None:
    """Refuse, before any retrieval, a question whose prompt and answer alone overflow the reader's window."""
    window = reader_window(generator)
    if generator is None or window is None:
        return
    overhead = generator.prompt_overhead(question)
    if overhead + max_new_tokens >= window:
        raise InvalidInput(
            f"the question's prompt is {overhead} tokens; with the answer's {max_new_tokens} it leaves no room "
            f"for context in the reader's window of {window} tokens: shorten the question"
        )


def context_budget(
    question: str,
    budget: Budget,
    generator: Generator | None,
    prices: PriceTable,
    max_new_tokens: int,
    spent: int = 0,
    spent_usd: float = 0.0,
) -> tuple[int, str]:
    """The tokens the context may use, and why it is less than ``budget.context_tokens`` if it is.

    ``spent`` / ``spent_usd``: LLM tokens and dollars this question already used (a query
    rewrite); they count against ``budget.total_tokens`` and ``budget.usd`` too. A dollar
    budget binds only when the ``PriceTable`` gives tokens a price (the local model is free).
    """
    room, why = budget.context_tokens, ""
    window = reader_window(generator)
    if generator is None or (budget.total_tokens is None and budget.usd is None and window is None):
        return room, why
    overhead = generator.prompt_overhead(question)
    rewrite = f", the query rewrite ({spent})" if spent else ""
    if window is not None and window - overhead - max_new_tokens < room:
        room = window - overhead - max_new_tokens
        why = (
            f"the reader's window of {window} tokens leaves {max(room, 0)} context tokens after the prompt "
            f"({overhead}) and the answer ({max_new_tokens})"
        )
    if budget.total_tokens is not None:
        r = budget.total_tokens - spent - overhead - max_new_tokens
        if r < room:
            room, why = (
                r,
                (
                    f"total budget {budget.total_tokens} leaves {max(r, 0)} context tokens after the prompt "
                    f"({overhead}){rewrite} and the answer ({max_new_tokens})"
                ),
            )
    p = prices
    if budget.usd is not None and (p.input_per_1k > 0 or p.output_per_1k > 0):
        left = budget.usd - spent_usd - p.cost(0, max_new_tokens)
        r = math.floor(left / (p.input_per_1k / 1000.0)) - overhead if p.input_per_1k > 0 else room
        if left < 0:
            r = 0
        if r < room:
            room, why = (
                r,
                (
                    f"dollar budget ${budget.usd:g} leaves {max(r, 0)} context tokens after the prompt ({overhead})"
                    f"{rewrite} and the answer ({max_new_tokens}) at ${p.input_per_1k:g}/${p.output_per_1k:g} "
                    "per 1k tokens in/out"
                ),
            )
    return room, why


def llm_allowance(
    question: str, budget: Budget, generator: Generator | None, prices: PriceTable, max_new_tokens: int
) -> int | None:
    """LLM tokens a query rewrite may spend and still leave the answer call its minimum (None: no cap)."""
    if generator is None:
        return None
    caps = []
    overhead = generator.prompt_overhead(question)
    if budget.total_tokens is not None:
        caps.append(budget.total_tokens - overhead - max_new_tokens - 1)
    p = prices
    if budget.usd is not None and (p.input_per_1k > 0 or p.output_per_1k > 0):
        per_token = max(p.input_per_1k, p.output_per_1k) / 1000.0
        answer = p.cost(overhead + 1, max_new_tokens)
        caps.append(math.floor((budget.usd - answer) / per_token))
    return min(caps) if caps else None


@dataclass(frozen=True)
class Fitted:
    """The outcome of ``fit``: the selection, the units kept after the exact re-count, the context
    string exactly as the prompt receives it and its exact token count."""

    selection: Selection
    chosen: tuple[Candidate, ...]
    context: str
    tokens: int
    budget: int


def trim(chosen: Sequence[Candidate], counter: TokenCounter, budget: int) -> tuple[list[Candidate], str, int]:
    """Join ``chosen`` as the prompt will and drop units from the end until the exact count fits."""
    kept = list(chosen)
    context = format_context([c.chunk.text for c in kept])
    exact = counter.count(context)
    while kept and exact > budget:  # a tokenizer merge across a boundary: never overspend
        kept.pop()
        context = format_context([c.chunk.text for c in kept])
        exact = counter.count(context)
    return kept, context, exact


def choose(
    question: str,
    candidates: Sequence[Candidate],
    costs: Sequence[int],
    budget: int,
    selector: Selector,
    *,
    query_vector: np.ndarray | None = None,
    chunk_vectors: np.ndarray | None = None,
    seed: int = 0,
    reason: str = "",
) -> Selection:
    """The selector's choice under ``budget`` tokens; with a budget of 0 or less, or no candidates,
    an empty selection that says why (``reason`` first, as ``context_budget`` gave it)."""
    if budget <= 0 or not candidates:
        return Selection((), 0, max(budget, 0), selector.name, reason or "no candidates were retrieved")
    return selector.select(SelectionInput(question, candidates, costs, budget, query_vector, chunk_vectors, seed))


def fit(
    question: str,
    candidates: Sequence[Candidate],
    costs: Sequence[int],
    budget: int,
    selector: Selector,
    counter: TokenCounter,
    *,
    query_vector: np.ndarray | None = None,
    chunk_vectors: np.ndarray | None = None,
    seed: int = 0,
    reason: str = "",
) -> Fitted:
    """Select from ``candidates`` under ``budget`` tokens and assemble the context within it."""
    selection = choose(
        question,
        candidates,
        costs,
        budget,
        selector,
        query_vector=query_vector,
        chunk_vectors=chunk_vectors,
        seed=seed,
        reason=reason,
    )
    kept, context, exact = trim(selection.chosen, counter, max(budget, 0))
    return Fitted(selection, tuple(kept), context, exact, max(budget, 0))
