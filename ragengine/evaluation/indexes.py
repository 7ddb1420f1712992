"""Benchmark indexes: built once from a corpus, reused while their manifest matches the settings asked for.

``ensure_index`` is the one rule every harness and experiment uses: an index folder is reused
when its manifest records the same embedder, tokenizer, chunk size and overlap (and, when the
documents are given as a list, the same document count); otherwise it is rebuilt. The eval
harness names its indexes after a hash of the corpus bytes and the settings (``index_name``), so
another corpus or other settings give another folder. Cost: a reuse reads one manifest; a build
embeds the whole corpus (minutes for thousands of paragraphs with MiniLM on 2 cores).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ragengine.evaluation.config import DatasetSpec, EvalConfig
from ragengine.evaluation.datasets import DatasetError, iter_beir_corpus, iter_hipporag_corpus, iter_squad_paragraphs
from ragengine.index.store import TERM_ENCODER
from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, sha256_of
from ragengine.types import Document

log = logging.getLogger(__name__)
Sources = Sequence[Document] | Sequence[str | Path]
# The models of a ``--smoke`` run: the deterministic hash embedder and whitespace tokens (no download).
SMOKE_MODELS: dict[str, Any] = {"embedder": "hash-64", "tokenizer": "whitespace"}


def ensure_index(
    sources: Sources | Callable[[], Sources],
    name: str,
    root: str | Path,
    *,
    embedder: Any = "minilm-onnx-int8",
    tokenizer: str = "smollm2-135m-instruct",
    chunk_size: int = 128,
    chunk_overlap: int = 16,
    dense: str = "flat",
    clusters: bool = False,
    rebuild: bool = False,
    progress: bool = True,
) -> Path:
    """Build ``root/name`` from ``sources`` (Documents or files; or a function giving them, called only
    to build) unless an index with the same settings is there; returns the folder.

    ``embedder`` is a registry name or an embedder object; ``clusters`` builds CRAG clusters with a
    new index (an existing one is not changed).
    """
    from ragengine import Engine
    from ragengine.embed.registry import get_embedder
    from ragengine.index.manifest import Manifest

    folder = Path(root) / name
    emb = get_embedder(embedder) if isinstance(embedder, str) else embedder
    known = sources if not callable(sources) else None
    if not rebuild and (folder / "manifest.json").is_file():
        m = Manifest.read(folder)
        want: tuple[Any, ...] = (emb.id, tokenizer, chunk_size, chunk_overlap)
        have: tuple[Any, ...] = (m.embedder, m.tokenizer, m.chunking.get("chunk_size"), m.chunking.get("chunk_overlap"))
        if known and all(isinstance(d, Document) for d in known):
            want, have = (*want, len(known)), (*have, m.n_documents)
        if want == have:
            log.info("reusing index %s (%d chunks)", folder, m.n_chunks)
            return folder
        log.warning("rebuilding %s: its manifest has %s, wanted %s", folder, have, want)
    else:
        log.warning("building index %s", folder)
    items: Any = list(sources() if callable(sources) else sources)
    Engine.build_index(
        items,
        name,
        root=root,
        embedder=emb,
        tokenizer=tokenizer,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        dense_kind=dense,
        progress=progress,
        clusters=clusters,
    )
    return folder


def corpus_documents(ds: DatasetSpec) -> Iterator[Document]:
    """The corpus of an eval dataset as Documents whose ids are the ids its gold labels use."""
    if ds.kind in ("squad", "squad2"):
        src = ds.corpus or ds.path
        for doc_id, title, text in iter_squad_paragraphs(src):
            yield Document(doc_id, text, {"title": title})
    elif ds.kind == "beir":
        for doc_id, title, text in iter_beir_corpus(ds.corpus or ds.path):
            yield Document(doc_id, f"{title}. {text}" if title else text, {"title": title})
    else:
        src = ds.corpus or ds.path.with_name(f"{ds.path.stem}_corpus.json")
        for doc_id, title, text in iter_hipporag_corpus(src):
            yield Document(doc_id, text, {"title": title})


def corpus_files(ds: DatasetSpec) -> list[Path]:
    if ds.kind == "beir":
        return [Path(ds.corpus or ds.path) / "corpus.jsonl"]
    if ds.kind in ("hotpotqa", "musique"):
        return [ds.corpus or ds.path.with_name(f"{ds.path.stem}_corpus.json")]
    return [ds.corpus or ds.path]


def index_name(cfg: EvalConfig, ds: DatasetSpec) -> str:
    """``eval-<kind>-<hash>``: the hash covers the corpus bytes and the index settings."""
    h = hashlib.sha256()
    for f in corpus_files(ds):
        try:
            h.update(f.read_bytes())
        except OSError as e:
            raise DatasetError(f"{f}: cannot read the corpus file: {e}") from e
    settings = cfg.index.settings()
    if cfg.index.embedder in ("minilm-onnx-int8", TERM_ENCODER):
        # the build writes TILDE term weights too: an index from other weights is another index
        settings["term_weights"] = sha256_of(DEFAULT_WEIGHTS)
    h.update(json.dumps(settings, sort_keys=True).encode())
    return f"eval-{ds.kind}-{h.hexdigest()[:12]}"


def eval_index(cfg: EvalConfig, ds: DatasetSpec, embedder: Any) -> Path:
    """The eval index of a dataset's corpus under ``cfg.index.root``, built unless it exists."""
    ix = cfg.index
    return ensure_index(
        lambda: list(corpus_documents(ds)),
        index_name(cfg, ds),
        ix.root,
        embedder=embedder,
        tokenizer=ix.tokenizer,
        chunk_size=ix.chunk_size,
        chunk_overlap=ix.chunk_overlap,
        dense=ix.dense,
        clusters=ix.clusters,
    )
