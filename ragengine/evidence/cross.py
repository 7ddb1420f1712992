"""The cross-encoder evidence scorer: question and sentence read together by a fine-tuned MiniLM.

The logistic scorer (``scorer``) ranks every candidate sentence from cheap lexical features; this
one re-reads the ``top`` sentences it ranks highest with a MiniLM cross-encoder (question and
sentence in one int8 ONNX pass, so every sentence token attends to every question token) and
blends the two logits with weights fitted on held-out questions. Sentences below the top keep the
logistic probability. The reader of a pair is the sentence, then its document title and the
sentence before it (context for "it", "the company"), truncated at ``max_length`` tokens.

Trained by ``ragengine train-evidence --cross``; shipped as ``weights/evidence-cross-v1.onnx``
(int8) and ``weights/evidence-cross-v1.json`` (blend weights, settings, the ONNX file's sha256).
Both files are checked against their recorded sha256 before use.

Cost: one MiniLM pass over ``top`` short pairs per question (~20-40 ms for 16 on 2 cores).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import IndexCorrupted, InvalidInput, MissingDependency
from ragengine.evidence.scorer import WEIGHTS_DIR, EvidenceScorer, sigmoid
from ragengine.paths import sha256_file

CROSS_META = WEIGHTS_DIR / "evidence-cross-v1.json"
CROSS_META_SHA256 = "927b3cfcc8494190ecc573029362124421cbf4ce13d4eefdcea868d4ae68b7dc"
TOKENIZER = Path(__file__).resolve().parents[1] / "embed" / "assets" / "minilm-tokenizer.json"
MAX_LENGTH = 80
TOP = 16


def pair_text(sentence: str, title: str, previous: str) -> str:
    """The second segment of a pair: the sentence first (it survives truncation), then its context."""
    parts = [sentence, title, previous]
    return " | ".join(p for p in parts if p)


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1.0 - 1e-6)
    return np.log(q / (1.0 - q))


def load_tokenizer(max_length: int = MAX_LENGTH) -> Any:
    """MiniLM's WordPiece tokenizer, truncating the second segment of a pair to fit ``max_length``."""
    from tokenizers import Tokenizer

    if not TOKENIZER.is_file():
        raise MissingDependency(f"the MiniLM tokenizer file {TOKENIZER}", "cpu")
    tok = Tokenizer.from_file(str(TOKENIZER))
    tok.enable_truncation(max_length=max_length, strategy="only_second")
    tok.no_padding()
    return tok


def encode_pairs(tok: Any, question: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Padded ``input_ids``, ``attention_mask`` and ``token_type_ids`` of (question, text) pairs."""
    enc = tok.encode_batch([(question, t) for t in texts])
    width = max((len(e.ids) for e in enc), default=1)
    ids = np.zeros((len(enc), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for r, e in enumerate(enc):
        n = len(e.ids)
        ids[r, :n], mask[r, :n], types[r, :n] = e.ids, 1, e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def pairs_of(passages: Sequence[Sequence[str]], titles: Sequence[str] | None) -> list[str]:
    """The second segment for every sentence, passages in order and sentences in order within each."""
    out = []
    for j, sents in enumerate(passages):
        title = titles[j] if titles is not None and j < len(titles) else ""
        for i, s in enumerate(sents):
            out.append(pair_text(s, title, sents[i - 1] if i > 0 else ""))
    return out


@lru_cache(maxsize=2)
def _load(meta_path: str, expect: str, threads: int) -> tuple[Any, Any, dict[str, Any]]:
    meta_file = Path(meta_path)
    if not meta_file.is_file():
        raise IndexCorrupted(f"cross-encoder settings {meta_file} are missing; run ragengine train-evidence --cross")
    if expect and sha256_file(meta_file) != expect:
        raise IndexCorrupted(f"cross-encoder settings {meta_file} do not match their recorded sha256; reinstall")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    model = meta_file.parent / str(meta.get("onnx", ""))
    if not model.is_file():
        raise IndexCorrupted(f"cross-encoder weights {model} are missing; run ragengine train-evidence --cross")
    if sha256_file(model) != meta.get("onnx_sha256"):
        raise IndexCorrupted(f"cross-encoder weights {model} do not match the sha256 in {meta_file.name}; reinstall")
    blend = np.asarray(meta.get("blend", []), dtype=np.float64)
    if blend.shape != (3,) or not np.all(np.isfinite(blend)):
        raise IndexCorrupted(f"{meta_file}: 'blend' must be 3 finite numbers")
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise MissingDependency("the cross-encoder (onnxruntime)", "cpu") from e
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
    return session, load_tokenizer(int(meta.get("max_length", MAX_LENGTH))), meta


class CrossEvidenceScorer:
    """The logistic scorer's probabilities, with its ``top`` sentences re-scored by the cross-encoder."""

    name = "evidence-cross-v1"

    def __init__(
        self,
        meta: str | Path | None = None,
        *,
        top: int | None = None,
        base: EvidenceScorer | None = None,
        threads: int = 2,
    ) -> None:
        if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
            raise InvalidInput(f"the cross-encoder's top must be a positive integer, got {top!r}")
        self.meta_path = Path(meta) if meta is not None else CROSS_META
        self._expect = CROSS_META_SHA256 if meta is None else ""
        self._top = top
        self.threads = threads
        self.base = base or EvidenceScorer()

    @property
    def threshold(self) -> float:
        return self.base.threshold

    @property
    def top(self) -> int:
        return self._top or int(_load(str(self.meta_path), self._expect, self.threads)[2].get("top", TOP))

    def logits(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """The cross-encoder's raw logit for every (question, text) pair."""
        session, tok, _ = _load(str(self.meta_path), self._expect, self.threads)
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(session.run(None, encode_pairs(tok, question, texts))[0], dtype=np.float64).reshape(-1)

    def score(
        self,
        question: str,
        passages: Sequence[Sequence[str]],
        scores: Sequence[float],
        ranks: Sequence[int],
        titles: Sequence[str] | None = None,
    ) -> np.ndarray:
        p = self.base.score(question, passages, scores, ranks)
        if p.size == 0:
            return p
        _, _, meta = _load(str(self.meta_path), self._expect, self.threads)
        a, b, c = (float(v) for v in meta["blend"])
        texts = pairs_of(passages, titles)
        top = np.argsort(-p, kind="stable")[: self.top]
        z = self.logits(question, [texts[i] for i in top])
        out = p.copy()
        out[top] = sigmoid(a * z + b * logit(p[top]) + c)
        return out


__all__ = ["CROSS_META", "CrossEvidenceScorer", "encode_pairs", "load_tokenizer", "pair_text", "pairs_of"]
