"""Contextual token states of MiniLM (ONNX int8) for whole passages, in windows of 256 tokens.

The term re-ranker needs one vector per passage token, not a pooled sentence vector, and it
needs every token of a long passage (72% of SciFact abstracts are longer than 256 WordPieces,
where the sentence embedder truncates). Passages are cut into windows of ``window`` tokens
(``[CLS] ... [SEP]``) that overlap by ``overlap`` tokens; a token inside an overlap appears once
per window, which is harmless because the index keeps the max weight per token id.

Cost: one encoder pass over every token of the corpus, about 2,500-4,000 tokens/s on 2 cores
(a 5,000-abstract corpus takes 7-12 minutes). Windows are sorted by length before batching.

>>> enc = TokenEncoder()                                   # doctest: +SKIP
>>> [(ids, states)] = enc.encode(["Aspirin lowers the risk of stroke."])  # doctest: +SKIP
>>> states.shape == (len(ids), 384)                       # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.embed.base import l2_normalise
from ragengine.embed.onnx_minilm import OnnxMiniLM
from ragengine.errors import InvalidInput, MissingDependency

TOKENIZER_FILE = Path(__file__).resolve().parents[1] / "embed" / "assets" / "minilm-tokenizer.json"
CLS_ID, SEP_ID, PAD_ID = 101, 102, 0
VOCAB_SIZE = 30522
DIM = 384
# Tokens per encoder call. Small batches run fastest on these CPUs and hold least memory: on 490
# SQuAD chunks, 512 tokens gave 101 chunks/s and 529 MB peak, 8,192 gave 64 chunks/s and 929 MB.
BATCH_TOKENS = 512


def load_tokenizer() -> Any:
    """The MiniLM WordPiece tokenizer with truncation and padding off (ids include [CLS]/[SEP])."""
    try:
        from tokenizers import Tokenizer
    except ImportError as e:
        raise MissingDependency("the term re-ranker (tokenizers)", "cpu") from e
    tok = Tokenizer.from_file(str(TOKENIZER_FILE))
    tok.no_truncation()
    tok.no_padding()
    return tok


class TokenEncoder:
    """``encode(texts)`` -> per text ``(token_ids int32 (n,), states float16 (n, 384))``, special tokens dropped."""

    def __init__(
        self, window: int = 256, overlap: int = 32, batch_tokens: int = BATCH_TOKENS, threads: int = 2
    ) -> None:
        if window < 16 or window > 512:
            raise InvalidInput(f"window must be in [16, 512] tokens (MiniLM has 512 positions), got {window}")
        if not 0 <= overlap < window // 2:
            raise InvalidInput(f"overlap must be in [0, window/2), got {overlap} for window {window}")
        self.window = window
        self.overlap = overlap
        self.batch_tokens = batch_tokens
        self._model = OnnxMiniLM(max_length=window, threads=threads)
        self._tok: Any = None

    def _load(self) -> None:
        if self._tok is None:
            self._model._load()
            self._tok = load_tokenizer()
            if self._model.provider == "CUDAExecutionProvider":
                self.batch_tokens = max(self.batch_tokens, self._model.batch_tokens)

    def token_ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        """WordPiece ids of each text without [CLS]/[SEP] (the tokenizer only; no encoder pass)."""
        return [ids for ids, _ in self.token_ids_offsets(texts)]

    def token_ids_offsets(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """WordPiece ids and (start, end) character offsets of each text, without [CLS]/[SEP]."""
        self._load()
        out = []
        for e in self._tok.encode_batch(list(texts)):
            off = np.asarray(e.offsets[1:-1], dtype=np.int32).reshape(-1, 2)
            out.append((np.asarray(e.ids[1:-1], dtype=np.int32), off))
        return out

    def _windows(self, ids: np.ndarray) -> list[tuple[int, int]]:
        inner = self.window - 2
        if len(ids) <= inner:
            return [(0, len(ids))]
        # A full first window (the dense embedder's view, so ``encode_pooled`` matches it), then the
        # fewest equal-size windows covering the rest, each sharing >= overlap tokens with the one before.
        first = inner - self.overlap
        rest = len(ids) - first
        n_win = -(-(rest - self.overlap) // (inner - self.overlap))
        size = -(-(rest + (n_win - 1) * self.overlap) // n_win)
        starts = first + np.linspace(0, rest - size, n_win).round().astype(int)
        return [(0, inner)] + [(int(s), int(s) + size) for s in starts]

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.encode_pooled(texts, progress=progress)[0]

    def encode_pooled(
        self, texts: Sequence[str], *, progress: bool = False
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """``encode`` plus each text's sentence embedding (L2-normalised mean over its first window).

        The first window is exactly what ``OnnxMiniLM(max_length=window).embed`` sees, so the
        pooled vectors equal the dense embedder's (up to float rounding) at no extra cost.
        """
        out, pooled, _ = self.encode_spans(texts, None, progress=progress)
        return out, pooled

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]] | None, *, progress: bool = False
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
        """``encode_pooled`` plus one vector per character span of each text (``spans[t]``), from the same pass.

        A span's vector is the L2-normalised mean of the contextual states of the tokens inside it
        (late chunking): sentence vectors for free from the passage pass. On SQuAD articles 1-24
        they find the answer's sentence as well as encoding each sentence alone does (hit@1 0.628
        vs 0.629, hit@5 0.878 vs 0.855), at cosine 0.84 to those standalone vectors.
        Returns (per text ids and states, pooled vectors, span vectors in text-then-span order, float16).
        """
        with_offsets = self.token_ids_offsets(texts)
        all_ids = [ids for ids, _ in with_offsets]
        pieces = [(t, s, e) for t, ids in enumerate(all_ids) for s, e in self._windows(ids)]
        order = sorted(range(len(pieces)), key=lambda i: pieces[i][2] - pieces[i][1])
        by_text: list[list[int]] = [[] for _ in texts]
        for i, (t, _, _) in enumerate(pieces):
            by_text[t].append(i)
        piece_states: dict[int, np.ndarray] = {}
        pooled = np.zeros((len(texts), DIM), dtype=np.float32)
        batches: list[list[int]] = []
        cur: list[int] = []
        for i in order:
            length = pieces[i][2] - pieces[i][1] + 2
            if cur and (len(cur) + 1) * length > self.batch_tokens:
                batches.append(cur)
                cur = []
            cur.append(i)
        if cur:
            batches.append(cur)
        it: Any = batches
        if progress:
            from tqdm import tqdm

            it = tqdm(batches, desc="token states", unit="batch", leave=False)
        for batch in it:
            width = max(pieces[i][2] - pieces[i][1] for i in batch) + 2
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for r, i in enumerate(batch):
                t, s, e = pieces[i]
                ids[r, 0] = CLS_ID
                ids[r, 1 : e - s + 1] = all_ids[t][s:e]
                ids[r, e - s + 1] = SEP_ID
                mask[r, : e - s + 2] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._model._session.run(None, feeds)[0]
            for r, i in enumerate(batch):
                t, s, e = pieces[i]
                piece_states[i] = hidden[r, 1 : e - s + 1].astype(np.float16)
                if s == 0:
                    pooled[t] = hidden[r, : e - s + 2].mean(axis=0)
        out: list[tuple[np.ndarray, np.ndarray]] = []
        span_vecs: list[np.ndarray] = []
        for t, ids in enumerate(all_ids):
            mine = by_text[t]
            if not len(ids):
                for i in mine:
                    piece_states.pop(i, None)
                out.append((np.zeros(0, np.int32), np.zeros((0, DIM), np.float16)))
                if spans is not None:
                    span_vecs.extend(pooled[t] for _ in spans[t])
                continue
            tok = np.concatenate([ids[pieces[i][1] : pieces[i][2]] for i in mine])
            states = np.concatenate([piece_states.pop(i) for i in mine])
            out.append((tok.astype(np.int32), states))
            if spans is not None:
                off = np.concatenate([with_offsets[t][1][pieces[i][1] : pieces[i][2]] for i in mine])
                span_vecs.extend(_span_means(states, off, spans[t], pooled[t]))
        sv = l2_normalise(np.asarray(span_vecs, np.float32).reshape(-1, DIM)).astype(np.float16)
        return out, l2_normalise(pooled), sv


def _span_means(
    states: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]], fallback: np.ndarray
) -> list[np.ndarray]:
    """Mean state of the tokens inside each span (tokens overlapping it when none lies inside)."""
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = ends > starts
    out = []
    for a, b in spans:
        sel = real & (starts >= a) & (ends <= b)
        if not sel.any():
            sel = real & (starts < b) & (ends > a)
        out.append(states[sel].astype(np.float32).mean(axis=0) if sel.any() else fallback)
    return out
