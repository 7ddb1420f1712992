"""Answers constrained to the evidence: a llama.cpp logits processor that lets the reader emit only text
copied from its context, so an extractive answer can never contradict (or invent beside) its source.

At each step the candidate next tokens are taken best-first by the reader's own score; a token is
allowed when the answer so far plus that token's text (whitespace runs folded, leading space
dropped) is still a substring of the context, or, once the answer has content, when it ends the
answer (end of turn or a newline). Every other token is masked, so greedy decoding picks the
reader's favourite continuation *among copies*: the constraint is on text, not on token ids,
so it holds whatever way the tokenizer splits the copied words. The best ``top`` tokens are
tried first and the whole vocabulary only when none of them fits (at most once per step); when
nothing fits the answer ends there. Cost per step: ``top`` substring tests on the context text
(microseconds) and, rarely, one pass over the vocabulary (tens of milliseconds).

>>> processor = LogitsProcessorList([CopySpan(llm, len(prompt), contexts)])  # doctest: +SKIP
>>> llm.create_completion(prompt, logits_processor=processor)                # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

_SPACE = re.compile(r"\s+")
_SPACE_B = re.compile(rb"\s+")


def fold(text: str) -> str:
    """Whitespace runs as one space (the context's line breaks and the answer's spaces compare equal)."""
    return _SPACE.sub(" ", text)


def _fold_b(raw: bytes) -> bytes:
    return _SPACE_B.sub(b" ", raw)


class CopySpan:
    """``processor(input_ids, scores) -> scores`` for ``Llama.create_completion(logits_processor=...)``."""

    def __init__(self, llm: Any, n_prompt: int, contexts: Sequence[str], *, top: int = 64) -> None:
        self.llm, self.n_prompt, self.top = llm, n_prompt, top
        self.text = _fold_b(" ".join(contexts).encode("utf-8"))
        self.eos = int(llm.token_eos())
        self._pieces: dict[int, bytes] = {}
        self.n_vocab = int(llm.n_vocab())

    def _piece(self, t: int) -> bytes:
        p = self._pieces.get(t)
        if p is None:
            p = bytes(self.llm.detokenize([t]))
            self._pieces[t] = p
        return p

    def _fits(self, t: int, prefix: bytes) -> bool:
        """Compared as bytes: a token holding part of a UTF-8 character must match the context's bytes."""
        if t == self.eos:
            return bool(prefix)
        piece = self._piece(t)
        if b"\n" in piece:
            return bool(prefix)
        cand = _fold_b(prefix + piece).lstrip()
        return bool(cand) and cand in self.text

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        prefix = _fold_b(bytes(self.llm.detokenize([int(i) for i in input_ids[self.n_prompt :]]))).lstrip()
        s = np.asarray(scores)
        k = min(self.top, len(s))
        best = np.argpartition(-s, k - 1)[:k]
        best = best[np.argsort(-s[best], kind="stable")]
        allowed = [int(t) for t in best if self._fits(int(t), prefix)]
        if not allowed:
            rest = np.argsort(-s, kind="stable")[k:]
            allowed = next(([int(t)] for t in rest if self._fits(int(t), prefix)), [self.eos])
        out = np.full_like(s, -np.inf)
        out[allowed] = s[allowed]
        return out
