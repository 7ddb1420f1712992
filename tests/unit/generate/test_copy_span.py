"""CopySpan's mask over a small byte-level vocabulary: only continuations of copied text survive."""

from __future__ import annotations

import numpy as np

from ragengine.generate.copy_span import CopySpan

VOCAB = [
    b"<eos>",
    b"The",
    b" Panthers",
    b" won",
    b" in",
    b" 19",
    b"98",
    b" 2022",
    b".",
    b"\n",
    b"\xe2\x85",
    b"\x9b",
    b" lost",
]
EOS = 0


class ByteVocab:
    """A tokenizer stand-in: token i is the bytes VOCAB[i]."""

    def token_eos(self) -> int:
        return EOS

    def n_vocab(self) -> int:
        return len(VOCAB)

    def detokenize(self, ids: list[int]) -> bytes:
        return b"".join(VOCAB[i] for i in ids)


def _next(proc: CopySpan, prompt: list[int], answer: list[int], favourite: int, second: int = -1) -> int:
    scores = np.linspace(0.0, 1.0, len(VOCAB)).astype(np.float32)
    scores[favourite] = 10.0
    if second >= 0:
        scores[second] = 5.0
    out = proc(np.asarray(prompt + answer), scores)
    return int(np.argmax(out))


def test_only_copies_survive_and_the_end_needs_content() -> None:
    proc = CopySpan(ByteVocab(), n_prompt=2, contexts=["The Panthers\nwon in 1998."], top=4)
    prompt = [1, 1]
    assert _next(proc, prompt, [], favourite=EOS) != EOS  # no empty answer while a copy is possible
    assert _next(proc, prompt, [3, 4], favourite=7, second=5) == 5  # " 2022" is not in the context: " 19" is
    assert _next(proc, prompt, [3, 4, 5], favourite=6) == 6
    assert _next(proc, prompt, [1, 2], favourite=3) == 3  # the context's line break equals a space
    assert _next(proc, prompt, [3, 4, 5, 6], favourite=EOS) == EOS  # with content the answer may end
    assert _next(proc, prompt, [3, 4, 5, 6], favourite=9) == 9  # ... or break the line


def test_a_split_utf8_character_must_match_the_contexts_bytes() -> None:
    proc = CopySpan(ByteVocab(), n_prompt=0, contexts=["The Panthers won"], top=len(VOCAB))
    got = _next(proc, [], [1, 2], favourite=10)  # b"\xe2\x85" decodes to nothing: still refused
    assert got != 10 and got in (3, EOS, 9)


def test_when_nothing_fits_the_answer_ends() -> None:
    proc = CopySpan(ByteVocab(), n_prompt=0, contexts=["zzz"], top=2)
    assert _next(proc, [], [], favourite=7) == EOS
