"""Query rewriting: the LLM rewriter validates its JSON and falls back; PRF expands from BM25 hits; RRF fusion."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ragengine import Engine
from ragengine.errors import GenerationError, InvalidInput
from ragengine.index.store import LoadedIndex
from ragengine.rewrite import (
    ChatReply,
    LLMRewriter,
    PRFRewriter,
    chat_complete,
    fuse_retrievals,
    get_rewriter,
    parse_reply,
)
from ragengine.testing import EchoGenerator, make_candidates
from ragengine.types import Retrieved


class ScriptedChat:
    """Replies with a fixed text and fixed usage; records the schema it was asked for."""

    def __init__(self, text: str, prompt_tokens: int = 120, completion_tokens: int = 30) -> None:
        self.text, self.pt, self.ct = text, prompt_tokens, completion_tokens
        self.calls: list[dict[str, Any]] = []

    def chat(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, json_schema: dict[str, Any] | None = None
    ) -> ChatReply:
        self.calls.append({"messages": messages, "max_tokens": max_tokens, "schema": json_schema})
        return ChatReply(self.text, self.pt, self.ct)


class FailingChat:
    def chat(self, messages: Sequence[dict[str, str]], *, max_tokens: int, json_schema: object = None) -> ChatReply:
        raise GenerationError("server down")


Q = "Which city hosted the final?"


def test_valid_reply_gives_variants_and_queries_and_reports_tokens() -> None:
    chat = ScriptedChat(json.dumps({"variants": ["What city was the final held in?"], "queries": ["final host city"]}))
    rw = LLMRewriter(chat).rewrite(Q)
    assert rw.queries == (Q, "What city was the final held in?", "final host city")
    assert (rw.tokens_in, rw.tokens_out, rw.llm_calls, rw.fallback) == (120, 30, 1, "")
    assert chat.calls[0]["schema"]["required"] == ["variants", "queries"]
    assert rw.trace()["tokens"] == {"in": 120, "out": 30}


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("Sure! Here are some queries: final, city", "not JSON"),
        ('{"variants": ["a b"], "queries": ["c d"', "not JSON"),
        ('["final host city"]', "not an object"),
        ('{"variants": ["x y"]}', "lacks the key 'queries'"),
        ('{"variants": "x y", "queries": []}', "not a list"),
        ('{"variants": [1, 2], "queries": []}', "non-string item"),
        ('{"variants": ["", "  "], "queries": ["Which city hosted the final?"]}', "no usable variant"),
    ],
)
def test_malformed_reply_falls_back_to_the_question_and_still_charges(reply: str, why: str) -> None:
    rw = LLMRewriter(ScriptedChat(reply)).rewrite(Q)
    assert rw.queries == (Q,)
    assert why in rw.fallback and rw.raw == reply
    assert rw.tokens == 150 and rw.llm_calls == 1  # the call was made: its tokens were spent


def test_generator_failure_falls_back_without_charging() -> None:
    rw = LLMRewriter(FailingChat()).rewrite(Q)
    assert rw.queries == (Q,) and "server down" in rw.fallback and rw.tokens == 0


def test_parse_reply_caps_dedups_and_drops_overlong_items() -> None:
    reply = json.dumps({"variants": ["A", "a", "B", "C"], "queries": ["q1", "x" * 500, "q2", "q3", "q4"]})
    variants, queries, err = parse_reply(reply, "question", max_variants=2, max_queries=3)
    assert (variants, queries, err) == (["A", "B"], ["q1", "q2", "q3"], "")


def test_generator_without_raw_chat_is_refused() -> None:
    with pytest.raises(InvalidInput, match="needs a generator that can chat"):
        LLMRewriter(EchoGenerator())
    with pytest.raises(InvalidInput, match="cannot make raw chat calls"):
        chat_complete(EchoGenerator(), [{"role": "user", "content": "hi"}], max_tokens=8)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"generator": None}, "needs a generator"),
        ({"max_variants": -1}, "max_variants must be an int >= 0"),
        ({"max_variants": 0, "max_queries": 0}, "both 0"),
        ({"max_tokens": 4}, "max_tokens must be an int >= 16"),
    ],
)
def test_bad_llm_rewriter_parameters(kw: dict[str, Any], match: str) -> None:
    opts = {"generator": ScriptedChat("{}"), **kw}
    gen = opts.pop("generator")
    with pytest.raises(InvalidInput, match=match):
        LLMRewriter(gen, **opts)


def test_chat_complete_checks_max_tokens() -> None:
    with pytest.raises(InvalidInput, match="max_tokens must be a positive int"):
        chat_complete(ScriptedChat("{}"), [], max_tokens=0)


def test_prf_expands_with_terms_from_top_hits(tiny_index: Path) -> None:
    idx = LoadedIndex.load(tiny_index, verify=False)
    rw = PRFRewriter(idx, fb_docs=1, fb_terms=3).rewrite("capital of Italy")
    assert rw.method == "prf" and len(rw.queries) == 2 and rw.tokens == 0
    assert set(rw.expansion) <= {"rome", "tiber", "crosses", "city"} and "rome" in rw.expansion
    assert "italy" not in rw.expansion and "capital" not in rw.expansion  # already in the question
    assert abs(sum(rw.expansion.values()) - 0.5) < 1e-9  # RM3: expansion carries 1 - orig_weight
    assert rw.queries[1].startswith("capital of Italy ")


def test_prf_without_hits_keeps_the_question(tiny_index: Path) -> None:
    idx = LoadedIndex.load(tiny_index, verify=False)
    rw = PRFRewriter(idx).rewrite("zzz qqq")
    assert rw.queries == ("zzz qqq",) and rw.fallback


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"fb_docs": 0}, "fb_docs must be a positive int"), ({"orig_weight": 1.0}, r"orig_weight must be in \(0, 1\)")],
)
def test_bad_prf_parameters(tiny_index: Path, kw: dict[str, Any], match: str) -> None:
    idx = LoadedIndex.load(tiny_index, verify=False)
    with pytest.raises(InvalidInput, match=match):
        PRFRewriter(idx, **kw)


def test_fusion_is_rrf_by_chunk_id() -> None:
    a = Retrieved(make_candidates(["x", "y", "z"]))
    b = Retrieved([make_candidates(["x", "y", "z"])[i] for i in (2, 1)])
    fused = fuse_retrievals([a, b], k=60)
    ids = [c.chunk.chunk_id for c in fused.candidates]
    assert ids == ["c2", "c1", "c0"]  # c2: 1/63 + 1/61 > c1: 1/62 + 1/62 > c0: 1/61
    assert fused.candidates[0].scores["hits"] == 2.0 and fused.stats["fused_lists"] == 2
    assert [c.rank for c in fused.candidates] == [0, 1, 2]
    assert [c.chunk.chunk_id for c in fuse_retrievals([a, b], limit=1).candidates] == ["c2"]


def test_weighted_fusion_keeps_the_original_list_in_charge() -> None:
    cands = make_candidates(["x", "y", "z"])
    original = Retrieved([cands[0], cands[1]])
    rewrites = [Retrieved([cands[2]]) for _ in range(4)]
    plain = [c.chunk.chunk_id for c in fuse_retrievals([original, *rewrites]).candidates]
    weighted = [c.chunk.chunk_id for c in fuse_retrievals([original, *rewrites], original_weight=0.5).candidates]
    assert plain[0] == "c2"  # four rewrites outvote the question
    assert weighted[0] == "c0"  # the question keeps half of the vote


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        ([], {}, "at least one Retrieved"),
        ([Retrieved([])], {"k": 0}, "k must be a positive int"),
        ([Retrieved([])], {"original_weight": 1.0}, r"original_weight must be in \(0, 1\)"),
    ],
)
def test_fusion_rejects_bad_input(args: list[Retrieved], kw: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        fuse_retrievals(args, **kw)


def test_rewriter_registry(tiny_index: Path) -> None:
    eng = Engine.from_index(tiny_index, generator="none")
    assert get_rewriter("none").rewrite("q").queries == ("q",)
    assert get_rewriter("prf", index=eng.index).name == "prf"
    with pytest.raises(InvalidInput, match="unknown rewrite mode"):
        get_rewriter("hyde")
    with pytest.raises(InvalidInput, match="needs the loaded index"):
        get_rewriter("prf")


def test_memo_chat_replays_recorded_replies(tmp_path: Path) -> None:
    from ragengine.rewrite.chat import MemoChat

    inner = ScriptedChat('{"variants": [], "queries": ["x y"]}')
    memo = MemoChat(inner, tmp_path / "memo.json")
    first = LLMRewriter(memo).rewrite(Q)
    again = LLMRewriter(MemoChat(FailingChat(), tmp_path / "memo.json")).rewrite(Q)
    assert len(inner.calls) == 1 and again == first and again.tokens == 150
