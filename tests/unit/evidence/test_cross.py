"""The shipped cross-encoder evidence scorer: its files match their recorded hashes, damage is refused,
it re-scores only the logistic scorer's top sentences, and it reads the question (a lexical decoy
that repeats the question's words loses to the sentence that answers it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ragengine.errors import IndexCorrupted, InvalidInput
from ragengine.evidence.cross import (
    CROSS_META,
    CROSS_META_SHA256,
    CrossEvidenceScorer,
    encode_pairs,
    load_tokenizer,
    pair_text,
    pairs_of,
)
from ragengine.evidence.scorer import EvidenceScorer
from ragengine.paths import sha256_file
from ragengine.select.base import SelectionInput
from ragengine.select.evidence import EvidenceSelector
from ragengine.testing import WhitespaceCounter, make_candidates


def test_the_shipped_files_match_their_recorded_hashes_and_card() -> None:
    assert sha256_file(CROSS_META) == CROSS_META_SHA256
    meta = json.loads(CROSS_META.read_text(encoding="utf-8"))
    onnx = CROSS_META.parent / meta["onnx"]
    assert sha256_file(onnx) == meta["onnx_sha256"]
    card = (CROSS_META.parent / "MODEL_CARD-cross.md").read_text(encoding="utf-8")
    assert meta["onnx_sha256"] in card and CROSS_META_SHA256 in card


def test_a_damaged_model_or_settings_file_is_refused(tmp_path: Path) -> None:
    meta = json.loads(CROSS_META.read_text(encoding="utf-8"))
    shutil.copy(CROSS_META.parent / meta["onnx"], tmp_path / meta["onnx"])
    bad = tmp_path / "cross.json"
    bad.write_text(json.dumps({**meta, "onnx_sha256": "0" * 64}), encoding="utf-8")
    with pytest.raises(IndexCorrupted, match="do not match the sha256"):
        CrossEvidenceScorer(bad).logits("q?", ["a b."])
    bad.write_text(json.dumps({**meta, "blend": [1.0, float("nan"), 0.0]}), encoding="utf-8")
    with pytest.raises(IndexCorrupted, match="'blend' must be"):
        CrossEvidenceScorer(bad).logits("q?", ["a b."])
    with pytest.raises(IndexCorrupted, match="are missing"):
        CrossEvidenceScorer(tmp_path / "absent.json").logits("q?", ["a b."])
    with pytest.raises(InvalidInput, match="positive integer"):
        CrossEvidenceScorer(top=0)


def test_pairs_carry_title_and_previous_sentence_and_truncate_only_the_context() -> None:
    assert pairs_of([["A.", "B."]], ["T"]) == ["A. | T", "B. | T | A."]
    assert pair_text("S.", "", "") == "S."
    tok = load_tokenizer(32)
    enc = encode_pairs(tok, "when was sky launched", ["sky launched in 1998 " + "word " * 100, "short"])
    assert enc["input_ids"].shape == (2, 32)
    assert enc["attention_mask"][1].sum() < 32  # the short pair is padded, not truncated
    assert set(np.unique(enc["token_type_ids"][0])) == {0, 1}  # question segment 0, sentence segment 1


def test_only_the_top_sentences_are_rescored() -> None:
    passages = [[f"Filler sentence number {i} about gardens." for i in range(6)], ["Sky Digital launched in 1998."]]
    args = ("When was Sky Digital launched?", passages, [0.5, 0.4], [0, 1])
    base = EvidenceScorer().score(*args)
    got = CrossEvidenceScorer(top=2).score(*args, titles=["Gardens", "Sky (United Kingdom)"])
    top = set(np.argsort(-base, kind="stable")[:2].tolist())
    for i in range(len(base)):
        assert (got[i] == base[i]) == (i not in top)
    assert np.all((got >= 0) & (got <= 1))


def test_it_reads_the_question_not_only_its_words() -> None:
    """Both sentences share the question's words; only one says when. The logistic scorer's cues
    (a year for "when") help too, so the check is that the cross-encoder's own logit prefers it."""
    q = "When did Tesla begin working for Edison?"
    texts = [
        "Tesla and Edison were rivals, and Tesla disliked working with Edison's methods.",
        "In 1884 Tesla moved to New York and began working for Edison Machine Works.",
    ]
    z = CrossEvidenceScorer().logits(q, texts)
    assert z.shape == (2,) and z[1] > z[0]


def test_the_selector_takes_the_scorer_by_name_and_keeps_the_budget() -> None:
    cands = make_candidates(["Sky launched in 1998. It grew fast.", "Cats purr. Dogs bark loudly."])
    sel = EvidenceSelector(counter=WhitespaceCounter(), scorer="cross")
    assert isinstance(sel.scorer, CrossEvidenceScorer)
    out = sel.select(SelectionInput("When did Sky launch?", cands, [8, 5], 8))
    assert out.context_tokens <= 8 and "1998" in out.chosen[0].chunk.text
    assert out.stats["scorer"] == "evidence-cross-v1"
    with pytest.raises(InvalidInput, match="unknown evidence scorer"):
        EvidenceSelector(counter=WhitespaceCounter(), scorer="bert")
