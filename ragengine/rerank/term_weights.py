"""TILDEv2-style passage term weights: MiniLM token states -> learned projection -> ReLU -> max per token id.

At index time every passage token gets one non-negative weight from a small projection of its
contextual MiniLM state (Zhuang & Zuccon 2021); the index keeps, per chunk, ``{token_id: max weight}``
over the content tokens (no stopwords, punctuation or special tokens). The query side needs only
the tokenizer (``terms.TermReranker``). The projection ships in ``weights/tilde-minilm-v1.npz``
(a few KB) with a JSON card holding its sha256, training data, seed and hyper-parameters;
``ragengine train-reranker`` reproduces it.

Cost: one encoder pass over all corpus tokens at index time (~1,000-4,000 tokens/s on 2 cores);
nothing at query time beyond the tokenizer.

>>> tw = TermWeighter()                                      # doctest: +SKIP
>>> m = tw.passage_weights(["Aspirin lowers the risk of stroke."])   # doctest: +SKIP
>>> m.n_rows, m.n_cols                                       # doctest: +SKIP
(1, 30522)
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import RagEngineError
from ragengine.paths import sha256_file as sha256_of
from ragengine.rerank.encoder import DIM, VOCAB_SIZE, TokenEncoder
from ragengine.rerank.sparse import TermMatrix
from ragengine.rerank.vocab import STOPWORDS, content_mask

__all__ = ["STOPWORDS", "RerankerWeightsError", "TermWeighter", "TermWeights", "content_mask", "sha256_of"]

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "tilde-minilm-v1.npz"


class RerankerWeightsError(RagEngineError):
    """The term re-ranker's weights file is missing, corrupted, or does not match its card."""


def card_path(weights: Path) -> Path:
    return Path(weights).with_suffix(".json")


@dataclass
class TermWeights:
    """The trained projection ``relu(relu(H @ w1 + b1) @ w2 + b2)`` (or ``relu(H @ w2 + b2)`` without w1)."""

    w2: np.ndarray
    b2: float
    w1: np.ndarray | None = None
    b1: np.ndarray | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def __call__(self, states: np.ndarray) -> np.ndarray:
        h = np.asarray(states, dtype=np.float32)
        if self.w1 is not None and self.b1 is not None:
            h = np.maximum(h @ self.w1 + self.b1, 0.0)
        return np.maximum(h @ self.w2 + self.b2, 0.0).astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"w2": self.w2.astype(np.float32), "b2": np.array(self.b2, dtype=np.float32)}
        if self.w1 is not None and self.b1 is not None:
            out |= {"w1": self.w1.astype(np.float32), "b1": self.b1.astype(np.float32)}
        return out

    def save(self, path: Path) -> str:
        """Write the ``.npz`` (no pickle) and return its sha256."""
        with Path(path).open("wb") as f:
            savez: Any = np.savez  # numpy's stub mistakes ** arrays for its allow_pickle keyword
            savez(f, config=np.array(json.dumps(self.config, sort_keys=True)), **self.arrays())
        return sha256_of(path)

    @classmethod
    def load(cls, path: Path | str | None = None) -> TermWeights:
        """Load and check a weights file against the sha256 of its card (``same-name.json``) when one exists."""
        path = Path(path) if path is not None else DEFAULT_WEIGHTS
        fix = "reinstall ragengine, or rebuild the weights with `ragengine train-reranker`"
        if not path.is_file():
            raise RerankerWeightsError(f"term re-ranker weights {path} are missing; {fix}")
        card = card_path(path)
        if card.is_file():
            try:
                expected = json.loads(card.read_text(encoding="utf-8"))["sha256"]
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise RerankerWeightsError(f"the weights card {card} is unreadable ({e}); {fix}") from e
            if sha256_of(path) != expected:
                raise RerankerWeightsError(
                    f"term re-ranker weights {path} do not match the sha256 in {card.name} (corrupted or edited); {fix}"
                )
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            config = json.loads(str(arrays.pop("config")))
            w2, b2 = arrays["w2"].astype(np.float32), float(arrays["b2"])
            w1 = arrays["w1"].astype(np.float32) if "w1" in arrays else None
            b1 = arrays["b1"].astype(np.float32) if "b1" in arrays else None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as e:
            raise RerankerWeightsError(f"term re-ranker weights {path} are unreadable ({e}); {fix}") from e
        hidden_in = DIM if w1 is None else w1.shape[1]
        shapes_ok = w2.shape == (hidden_in,) and (w1 is None or (w1.shape[0] == DIM and b1 is not None))
        if not shapes_ok or not all(np.isfinite(a).all() for a in (w2, w1, b1) if a is not None):
            raise RerankerWeightsError(f"term re-ranker weights {path} have wrong shapes or non-finite values; {fix}")
        return cls(w2, b2, w1, b1, config)


def weights_from_states(
    proj: TermWeights, ids: np.ndarray, offsets: np.ndarray, states: np.ndarray, mask: np.ndarray, block: int = 65536
) -> TermMatrix:
    """Max projected weight per (document, content token id) from concatenated token states."""
    n_docs = len(offsets) - 1
    doc_of = np.repeat(np.arange(n_docs), np.diff(offsets))
    keep = np.flatnonzero(mask[ids])
    w = np.empty(len(keep), dtype=np.float32)
    for s in range(0, len(keep), block):
        w[s : s + block] = proj(states[keep[s : s + block]])
    return TermMatrix.from_triples(doc_of[keep], ids[keep], w, n_docs, VOCAB_SIZE)


class TermWeighter:
    """Index-time term weights: ``passage_weights(texts) -> TermMatrix`` (n_texts x 30522).

    Light constructor; the ONNX session, tokenizer and weights load on first use.
    """

    def __init__(
        self,
        weights: Path | str | TermWeights | None = None,
        encoder: TokenEncoder | None = None,
        *,
        expansion: bool | None = None,
    ) -> None:
        self._weights_arg = weights
        self._expansion = expansion
        self._weights: TermWeights | None = weights if isinstance(weights, TermWeights) else None
        self._encoder = encoder
        self._mask: np.ndarray | None = None

    @property
    def weights(self) -> TermWeights:
        if self._weights is None:
            arg = self._weights_arg
            self._weights = TermWeights.load(None if isinstance(arg, TermWeights) else arg)
        return self._weights

    @property
    def encoder(self) -> TokenEncoder:
        if self._encoder is None:
            cfg = self.weights.config
            self._encoder = TokenEncoder(window=int(cfg.get("window", 256)), overlap=int(cfg.get("overlap", 32)))
        return self._encoder

    @property
    def mask(self) -> np.ndarray:
        if self._mask is None:
            self._mask = content_mask()
        return self._mask

    def passage_weights(self, texts: Sequence[str], *, batch: int = 256, progress: bool = False) -> TermMatrix:
        """Term weights of ``texts`` (one row each, in order), encoded ``batch`` texts at a time."""
        return self.passage_weights_and_vectors(texts, batch=batch, progress=progress)[0]

    def passage_weights_and_vectors(
        self, texts: Sequence[str], *, batch: int = 256, progress: bool = False
    ) -> tuple[TermMatrix, np.ndarray]:
        """Term weights and the dense MiniLM vectors of ``texts`` from one encoder pass.

        The vectors equal ``OnnxMiniLM(max_length=256).embed(texts)`` (cosine 1.0), so an index built
        with the default embedder can take both from here and skip its separate embedding pass.
        """
        terms, vectors, _ = self.passage_encoding(texts, batch=batch, progress=progress)
        return terms, vectors

    def passage_encoding(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]] | None = None,
        *,
        batch: int = 256,
        progress: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> tuple[TermMatrix, np.ndarray, np.ndarray]:
        """Term weights, dense vectors and one vector per span of ``spans[t]`` (``TokenEncoder.encode_spans``).

        ``on_batch(n_done)`` is called after each ``batch`` texts (progress for callers).
        """
        parts, vecs, span_vecs = [], [], []
        steps: Any = range(0, len(texts), batch)
        if progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc="term weights", unit="batch", leave=False)
        for s in steps:
            part_spans = None if spans is None else spans[s : s + batch]
            enc, pooled, sv = self.encoder.encode_spans(list(texts[s : s + batch]), part_spans)
            lens = np.array([len(i) for i, _ in enc], dtype=np.int64)
            ids = np.concatenate([i for i, _ in enc]) if enc else np.zeros(0, np.int32)
            st = np.concatenate([x for _, x in enc]) if enc else np.zeros((0, DIM), np.float16)
            offsets = np.concatenate([[0], np.cumsum(lens)])
            parts.append(weights_from_states(self.weights, ids, offsets, st, self.mask))
            vecs.append(pooled)
            span_vecs.append(sv)
            if on_batch is not None:
                on_batch(min(s + batch, len(texts)))
        if not parts:
            empty = TermMatrix(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), VOCAB_SIZE)
            return empty, np.zeros((0, DIM), np.float32), np.zeros((0, DIM), np.float16)
        terms, vectors = TermMatrix.vstack(parts), np.concatenate(vecs)
        ex = self.expansion
        if ex:
            from ragengine.rerank.expansion import expand, vocabulary_vectors

            terms = expand(terms, vectors, *vocabulary_vectors(), n_terms=int(ex["terms"]), scale=float(ex["scale"]))
        return terms, vectors, np.concatenate(span_vecs)

    @property
    def expansion(self) -> dict[str, Any] | None:
        """The expansion settings in use: the weights' tuned ones when enabled there (or forced on), else None."""
        cfg = dict(self.weights.config.get("expansion") or {})
        on = cfg.get("enabled", False) if self._expansion is None else self._expansion
        return cfg if on and "terms" in cfg else None
