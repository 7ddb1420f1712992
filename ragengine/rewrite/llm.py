"""Query Rewriter+ (ERM4, arXiv 2407.10670): one generator call -> question variants and search queries.

The generator is asked for JSON ``{"variants": [...], "queries": [...]}``: ``variants`` are
disambiguated rewordings of the question, ``queries`` short keyword searches, one per fact the
answer needs (the hops of a multi-hop question). With llama.cpp the reply is constrained by a
grammar built from ``schema()``; every reply is validated anyway (``parse_reply``): a reply that is
not JSON, not an object, lacks a key, holds a non-string item, or yields no usable query falls
back to the original question alone, with the reason in ``Rewrite.fallback``. The call's prompt
and completion tokens are in the result for the pipeline to charge (stage ``rewrite``), fallback
or not: they were spent.

Cost: one LLM call, about 150-160 prompt tokens and up to ``max_tokens`` (default 96) completion
tokens. Grammar-constrained sampling is slow in llama.cpp with a 49k vocabulary: on the shared
2-core machine of the benchmark a call took minutes under load; an idle core does far better, but
budget latency for it (``constrained=False`` skips the grammar; replies are validated either way).
"""

from __future__ import annotations

import json
from typing import Any

from ragengine.errors import GenerationError, InvalidInput
from ragengine.rewrite.base import Rewrite
from ragengine.rewrite.chat import can_chat, chat_complete

MAX_ITEM_CHARS = 200


def schema(max_variants: int, max_queries: int) -> dict[str, Any]:
    """The JSON schema of a reply (also llama.cpp's grammar: ``maxItems`` stops list repetition loops)."""
    return {
        "type": "object",
        "properties": {
            "variants": {"type": "array", "items": {"type": "string"}, "maxItems": max_variants},
            "queries": {"type": "array", "items": {"type": "string"}, "maxItems": max_queries},
        },
        "required": ["variants", "queries"],
    }


SYSTEM = (
    "You rewrite questions for a search engine. Reply with JSON only: "
    '{"variants": [clearer rewordings of the question], "queries": [short keyword searches, '
    "one for each fact needed to answer]}."
)
EXAMPLE_Q = "Which city hosted the Olympics in the year the Berlin Wall fell?"
EXAMPLE_A = (
    '{"variants": ["What city hosted the Olympic Games in 1989, when the Berlin Wall fell?"], '
    '"queries": ["year Berlin Wall fell", "Olympic Games host city 1989"]}'
)


def parse_reply(text: str, question: str, max_variants: int, max_queries: int) -> tuple[list[str], list[str], str]:
    """``(variants, queries, error)``; ``error`` is "" when the reply is usable."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return [], [], f"reply is not JSON ({e.msg} at char {e.pos})"
    if not isinstance(data, dict):
        return [], [], f"reply is JSON {type(data).__name__}, not an object"
    out: dict[str, list[str]] = {}
    seen = {" ".join(question.lower().split())}
    for key, cap in (("variants", max_variants), ("queries", max_queries)):
        if key not in data:
            return [], [], f"reply lacks the key {key!r}"
        items = data[key]
        if not isinstance(items, list):
            return [], [], f"{key!r} is {type(items).__name__}, not a list"
        if any(not isinstance(x, str) for x in items):
            return [], [], f"{key!r} holds a non-string item"
        kept: list[str] = []
        for x in items:
            s = " ".join(x.split())
            norm = s.lower()
            if not s or len(s) > MAX_ITEM_CHARS or norm in seen:
                continue
            seen.add(norm)
            kept.append(s)
        out[key] = kept[:cap]
    if not out["variants"] and not out["queries"]:
        return [], [], "reply holds no usable variant or query (empty, repeated or too long)"
    return out["variants"], out["queries"], ""


class LLMRewriter:
    """``rewrite(question)`` -> the question, its variants and search queries, from one LLM call."""

    name = "llm"

    def __init__(
        self,
        generator: Any,
        *,
        max_variants: int = 2,
        max_queries: int = 3,
        max_tokens: int = 96,
        constrained: bool = True,
    ) -> None:
        if generator is None:
            raise InvalidInput("the llm rewriter needs a generator (--generator llm or openai); got none")
        if not can_chat(generator):
            name = getattr(generator, "name", type(generator).__name__)
            raise InvalidInput(f"the llm rewriter needs a generator that can chat (llm or openai), not {name!r}")
        for nm, v in (("max_variants", max_variants), ("max_queries", max_queries)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidInput(f"{nm} must be an int >= 0, got {v!r}")
        if max_variants + max_queries == 0:
            raise InvalidInput("max_variants and max_queries are both 0; the rewriter would add nothing")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 16:
            raise InvalidInput(f"max_tokens must be an int >= 16, got {max_tokens!r}")
        self.generator = generator
        self.max_variants, self.max_queries, self.max_tokens = max_variants, max_queries, max_tokens
        self.schema = schema(max_variants, max_queries)
        self.constrained = bool(constrained)

    def messages(self, question: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Question: {EXAMPLE_Q}"},
            {"role": "assistant", "content": EXAMPLE_A},
            {"role": "user", "content": f"Question: {question.strip()}"},
        ]

    def worst_case_tokens(self, question: str, counter: Any) -> int:
        """An upper bound on the call's prompt + completion tokens, for budget checks before calling.

        The messages' text counted with ``counter``, plus 8 tokens per message for the chat
        template's role markers (SmolLM2's and OpenAI's use 3-5), plus ``max_tokens``.
        """
        msgs = self.messages(question)
        return sum(counter.count(m["content"]) + 8 for m in msgs) + 8 + self.max_tokens

    def rewrite(self, question: str) -> Rewrite:
        try:
            reply = chat_complete(
                self.generator,
                self.messages(question),
                max_tokens=self.max_tokens,
                json_schema=self.schema if self.constrained else None,
            )
        except GenerationError as e:
            return Rewrite(question, (question,), "llm", fallback=f"generator failed: {e}")
        variants, queries, error = parse_reply(reply.text, question, self.max_variants, self.max_queries)
        t_in, t_out = reply.prompt_tokens, reply.completion_tokens
        if error:
            return Rewrite(
                question,
                (question,),
                "llm",
                fallback=error,
                raw=reply.text,
                tokens_in=t_in,
                tokens_out=t_out,
                llm_calls=1,
            )
        return Rewrite(
            question,
            (question, *variants, *queries),
            "llm",
            variants=tuple(variants),
            search_queries=tuple(queries),
            raw=reply.text,
            tokens_in=t_in,
            tokens_out=t_out,
            llm_calls=1,
        )
