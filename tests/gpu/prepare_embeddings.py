"""Write real MiniLM embeddings for the GPU tests (run on a CPU machine with the data and the ONNX model).

    python -m tests.gpu.prepare_embeddings [OUT_FOLDER]   # default indexes/bench-gpu (git-ignored)

SciFact corpus (5,183 abstracts, the dense embedder's vectors) and its 1,109 queries, float16 (~4 MB).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ragengine.embed.onnx_minilm import OnnxMiniLM
from ragengine.evaluation.corpus_states import SCIFACT, corpus_states, data_root, scifact_corpus
from ragengine.evaluation.datasets import load_beir_queries
from ragengine.rerank.encoder import TokenEncoder


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _, texts = scifact_corpus()
    corpus = corpus_states(texts, TokenEncoder()).pooled  # cached token states carry the embedder's vectors
    queries = [ex.question for split in ("train", "test") for ex in load_beir_queries(data_root() / SCIFACT, split)]
    np.save(out / "corpus.npy", corpus.astype(np.float16))
    np.save(out / "queries.npy", OnnxMiniLM().embed(queries).astype(np.float16))
    print(f"wrote {out}/corpus.npy {corpus.shape} and queries.npy ({len(queries)})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("indexes/bench-gpu"))
