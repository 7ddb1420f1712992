"""The benchmark corpora the term re-ranker trains and is measured on, and a disk cache of their token states.

SciFact (BEIR): documents are ``"title. text"``, as ``ragengine index`` ingests a BEIR folder.
SQuAD v1.1 dev: one document per paragraph, ids ``"Title#i"``. Encoding a corpus's token states
is the expensive step (minutes), so ``corpus_states`` keeps them in ``cache_dir`` as ``.npy`` files
(float16, memory-mapped on reuse) keyed by a hash of the texts and the window settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragengine.evaluation.datasets import iter_beir_corpus, iter_squad_paragraphs
from ragengine.rerank.encoder import DIM, TokenEncoder

log = logging.getLogger(__name__)


def data_root() -> Path:
    """``$RAGENGINE_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("RAGENGINE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


def default_cache() -> Path:
    return Path(os.environ.get("RAGENGINE_CACHE", "/tmp/ragengine-cache"))


SCIFACT = "beir-scifact"
SQUAD_FILE = Path("squad-v1.1-dev") / "dev-v1.1.rebuilt.json"
XQUAD = Path(__file__).resolve().parents[1] / "data" / "xquad-en" / "xquad.en.json"  # bundled, SQuAD format


def scifact_corpus(root: Path | None = None) -> tuple[list[str], list[str]]:
    """(doc ids, texts) of the SciFact corpus."""
    ids, texts = [], []
    for doc_id, title, text in iter_beir_corpus((root or data_root()) / SCIFACT):
        ids.append(doc_id)
        texts.append(f"{title}. {text}" if title else text)
    return ids, texts


def squad_corpus(
    root: Path | None = None, articles: tuple[int, int] | None = None, path: Path | None = None
) -> tuple[list[str], list[str]]:
    """(paragraph ids, texts) of SQuAD v1.1 dev (or the SQuAD-format file ``path``), all 48 articles
    unless ``articles`` is given."""
    rows = list(iter_squad_paragraphs(path or (root or data_root()) / SQUAD_FILE, articles))
    return [r[0] for r in rows], [r[2] for r in rows]


@dataclass
class CorpusStates:
    """Token ids and states of a corpus, concatenated: document ``d`` owns rows ``offsets[d]:offsets[d+1]``."""

    ids: np.ndarray  # int32 (n_tokens,)
    offsets: np.ndarray  # int64 (n_docs + 1,)
    states: np.ndarray  # float16 (n_tokens, 384), possibly memory-mapped
    pooled: np.ndarray  # float32 (n_docs, 384): the dense embedder's vectors (mean of the first window)

    def head(self, n: int) -> CorpusStates:
        """The first ``n`` documents."""
        end = int(self.offsets[n])
        return CorpusStates(self.ids[:end], self.offsets[: n + 1], self.states[:end], self.pooled[:n])

    def doc(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        s, e = int(self.offsets[d]), int(self.offsets[d + 1])
        return self.ids[s:e], self.states[s:e]


def _key(texts: list[str], encoder: TokenEncoder) -> str:
    h = hashlib.sha256(json.dumps(["v4", encoder.window, encoder.overlap]).encode())
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def corpus_states(
    texts: list[str], encoder: TokenEncoder, cache_dir: Path | None = None, *, block: int = 256, progress: bool = False
) -> CorpusStates:
    """Token states of ``texts``, encoded once and cached (resumable block by block)."""
    folder = (cache_dir or default_cache()) / f"states-{_key(texts, encoder)}"
    final = folder / "states.npy"
    if final.is_file():
        return CorpusStates(
            np.load(folder / "ids.npy"),
            np.load(folder / "offsets.npy"),
            np.load(final, mmap_mode="r"),
            np.load(folder / "pooled.npy"),
        )
    folder.mkdir(parents=True, exist_ok=True)
    for b, start in enumerate(range(0, len(texts), block)):
        part = folder / f"part-{b:05d}.npz"
        if part.is_file():
            continue
        enc, pooled = encoder.encode_pooled(texts[start : start + block], progress=progress)
        lens = np.array([len(i) for i, _ in enc], dtype=np.int64)
        ids = np.concatenate([i for i, _ in enc]) if enc else np.zeros(0, np.int32)
        st = np.concatenate([s for _, s in enc]) if enc else np.zeros((0, DIM), np.float16)
        tmp = folder / f".part-{b:05d}.npz"
        with tmp.open("wb") as f:
            np.savez(f, lens=lens, ids=ids, states=st, pooled=pooled)
        tmp.rename(part)
        log.info("encoded %d/%d documents", min(start + block, len(texts)), len(texts))
    parts = sorted(folder.glob("part-*.npz"))
    lens_l, ids_l, pooled_l = [], [], []
    for p in parts:
        with np.load(p) as z:
            lens_l.append(z["lens"])
            ids_l.append(z["ids"])
            pooled_l.append(z["pooled"])
    lens_all = np.concatenate(lens_l)
    offsets = np.concatenate([[0], np.cumsum(lens_all)]).astype(np.int64)
    out = np.lib.format.open_memmap(folder / ".states.npy", mode="w+", dtype=np.float16, shape=(int(offsets[-1]), DIM))
    pos = 0
    for p in parts:
        with np.load(p) as z:
            st = z["states"]
            out[pos : pos + len(st)] = st
            pos += len(st)
    out.flush()
    del out
    np.save(folder / "ids.npy", np.concatenate(ids_l).astype(np.int32))
    np.save(folder / "offsets.npy", offsets)
    np.save(folder / "pooled.npy", np.concatenate(pooled_l).astype(np.float32))
    (folder / ".states.npy").rename(final)
    for p in parts:
        p.unlink()
    return corpus_states(texts, encoder, cache_dir)
