"""The corpora of the performance benchmark, from the real data, cut to a number of chunks.

- ``demo``: the bundled XQuAD English set (240 paragraphs, the demo index);
- ``squad``: every SQuAD v1.1 dev paragraph (2,067);
- ``5k`` / ``50k``: SQuAD v1.1 and v2.0 dev paragraphs, SciFact abstracts, the HotpotQA and MuSiQue
  corpora, then, where real text runs out, documents made of real sentences drawn with a fixed
  seed (``synthetic-N``), until the corpus chunks into the target count.

Chunking here uses the engine's own chunker, so the count is exact.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from ragengine.evaluation.experiments.selection_sets import BUNDLED, DATA
from ragengine.ingest.chunking import Chunker
from ragengine.ingest.corpora import iter_beir_corpus, iter_hipporag_corpus, iter_squad_paragraphs
from ragengine.text import sentence_spans
from ragengine.types import Chunk, Document

CORPORA = ("smoke", "demo", "squad", "5k", "50k")  # smoke: 30 demo paragraphs, for the test suite
TARGETS = {"5k": 5_000, "50k": 50_000}


def _real(data: Path) -> Iterator[Document]:
    seen: set[str] = set()
    sources = [
        iter_squad_paragraphs(data / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json"),
        iter_beir_corpus(data / "beir-scifact"),
        iter_squad_paragraphs(data / "squad-v2.0-dev" / "dev-v2.0.rebuilt.json"),
        iter_hipporag_corpus(data / "hotpotqa-train100-hipporag" / "hotpotqa_train_corpus.json"),
        iter_hipporag_corpus(data / "musique-train100-hipporag" / "musique_train_corpus.json"),
    ]
    for src in sources:
        for doc_id, title, text in src:
            if text in seen:  # SQuAD v2.0 repeats many v1.1 paragraphs
                continue
            seen.add(text)
            yield Document(f"{len(seen):06d}-{doc_id}", text, {"title": title})


def _synthetic(pool: list[str], seed: int = 0) -> Iterator[Document]:
    rng = random.Random(seed)
    i = 0
    while True:
        i += 1
        text = " ".join(rng.choice(pool) for _ in range(rng.randint(4, 12)))
        yield Document(f"synthetic-{i:06d}", text, {"title": f"synthetic {i}"})


def load_corpus(name: str, chunker: Chunker, data: Path = DATA) -> tuple[list[Document], list[Chunk]]:
    """The documents of corpus ``name`` and their chunks (cut at the target chunk count)."""
    if name == "smoke":
        demo, _ = load_corpus("demo", chunker, data)
        return demo[:30], list(chunker.chunks(demo[:30]))
    if name in ("demo", "squad"):
        path = BUNDLED / "xquad-en" / "xquad.en.json"
        if name == "squad":
            path = data / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json"
        whole = [Document(d, t, {"title": ti}) for d, ti, t in iter_squad_paragraphs(path)]
        return whole, list(chunker.chunks(whole))
    target = TARGETS[name]
    docs: list[Document] = []
    chunks: list[Chunk] = []
    pool: list[str] = []
    real = _real(data)
    for stream in (real, None):
        it = stream if stream is not None else _synthetic(pool)
        for d in it:
            mine = list(chunker.chunks([d]))
            if len(chunks) + len(mine) > target:
                break
            docs.append(d)
            chunks.extend(mine)
            if stream is not None and len(pool) < 200_000:
                pool.extend(d.text[a:b] for a, b in sentence_spans(d.text))
        if len(chunks) >= target - 2:
            break
    return docs, chunks
