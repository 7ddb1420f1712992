"""Write one complete version of an index into a temp folder: plan, encode once, then every file.

The version holds ``chunks.jsonl``, ``vectors.npy``, the FAISS and BM25 indexes, term weights,
optional clusters and ``documents.json``; ``manifest.json`` (checksums of all of them) is written
last by the caller, which then publishes the folder atomically. Memory: the index's own arrays
plus one encoder batch (``encode.BATCH`` chunks of token states); the documents' text is held
only as chunks.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.embed.base import Embedder, l2_normalise
from ragengine.errors import EmptyCorpus
from ragengine.index.bm25 import PARAMS as BM25_PARAMS
from ragengine.index.bm25 import BM25Index
from ragengine.index.chunk_store import write_chunks
from ragengine.index.dense import DenseIndex
from ragengine.index.manifest import Manifest
from ragengine.index.publish import failpoint
from ragengine.index.store import TERM_ENCODER, VECTORS
from ragengine.indexing.documents import write_documents
from ragengine.indexing.encode import Encoded, encode_texts
from ragengine.indexing.plan import BuildReport, Entry, Plan, make_plan
from ragengine.indexing.previous import Previous, SentenceRows
from ragengine.indexing.progress import Progress
from ragengine.ingest.chunking import Chunker
from ragengine.text import sentence_spans
from ragengine.types import Document


@dataclass
class VersionSpec:
    """What one version is built with (the manifest's settings) and what it includes."""

    name: str
    embedder: Embedder
    chunker: Chunker
    dense_kind: str = "flat"
    with_terms: bool = True
    clusters: bool = False
    cluster_options: dict[str, Any] | None = None
    sources: list[str] | None = None
    doc_ids: str = "path"

    def settings(self) -> dict[str, Any]:
        """The manifest fields a previous version must share to lend its chunks."""
        return {
            "embedder": self.embedder.id,
            "tokenizer": self.chunker.counter.name,
            "chunking": self.chunker.params(),
            "dense_kind": self.dense_kind,
        }


def write_version(
    tmp: Path,
    docs: Iterable[Document],
    spec: VersionSpec,
    previous: Previous | None,
    progress: Progress,
    report: BuildReport,
    *,
    mode: str = "sync",
    remove: Sequence[str] = (),
) -> Manifest:
    """Plan and write every file of the new version into ``tmp`` (the manifest last, by ``Manifest.write``)."""
    plan = make_plan(docs, spec.chunker, previous, mode=mode, remove=remove, report=report)
    if not plan.entries:
        if mode == "remove":
            raise EmptyCorpus("removing those documents would leave no text to index; delete the index folder instead")
        raise EmptyCorpus("the input held no text to index (every file was empty, unsupported or skipped)")
    chunks = [e.chunk for e in plan.entries]
    progress.tell("chunking", len(chunks), len(chunks))
    write_chunks(tmp, chunks)
    failpoint("chunked")
    need_sentences = _sentence_work(plan, previous, spec.clusters, report)
    texts = [c.text for c in plan.to_encode]
    spans = [sentence_spans(t) for t in texts] if spec.clusters else None
    enc = encode_texts(texts, spec.embedder, with_terms=spec.with_terms, spans=spans, progress=progress)
    failpoint("embedded")
    progress.tell("indexing", 0, 1)
    vectors = _vectors(plan.entries, previous, enc, spec.embedder.dim)
    np.save(tmp / VECTORS, vectors.astype(np.float16), allow_pickle=False)
    DenseIndex.build(vectors, spec.dense_kind).save(tmp)
    BM25Index.build([c.text for c in chunks]).save(tmp)
    if spec.with_terms and spec.embedder.id == TERM_ENCODER:
        from ragengine.rerank.index_terms import save_terms

        save_terms(tmp, _terms(plan.entries, previous, enc))
    if spec.clusters:
        progress.tell("clustering", 0, 1)
        table = _sentence_table(plan, previous, enc, spans, spec.chunker, need_sentences)
        _write_clusters(tmp, plan, vectors, table, spec)
        progress.tell("clustering", 1, 1)
    write_documents(tmp, plan.documents)
    return Manifest(
        name=spec.name,
        embedder=spec.embedder.id,
        dim=int(vectors.shape[1]),
        tokenizer=spec.chunker.counter.name,
        chunking=spec.chunker.params(),
        dense_kind=spec.dense_kind,
        bm25=dict(BM25_PARAMS),
        n_documents=len(plan.documents),
        n_chunks=len(chunks),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        sources=spec.sources or [],
        doc_ids=spec.doc_ids,
    )


def _sentence_work(plan: Plan, previous: Previous | None, clusters: bool, report: BuildReport) -> bool:
    """Queue the kept chunks whose sentences have no reusable vectors (clusters of an older kind)."""
    if not clusters or (previous is not None and previous.sentences is not None):
        return False
    extra = [e for e in plan.entries if e.old >= 0]
    for e in extra:
        e.new = len(plan.to_encode)
        plan.to_encode.append(e.chunk)
    if extra:
        report.chunks_embedded += len(extra)
        report.notes.append(f"{len(extra)} kept chunks were encoded again for their sentence vectors")
    return True


def _fresh(entries: list[Entry], n_new: int) -> bool:
    """Whether the version is exactly the encoder pass's rows in order (a first build): no reassembly."""
    return len(entries) == n_new and all(e.old < 0 and e.new == i for i, e in enumerate(entries))


def _vectors(entries: list[Entry], previous: Previous | None, enc: Encoded, dim: int) -> np.ndarray:
    if _fresh(entries, len(enc.vectors)):
        return np.asarray(enc.vectors, dtype=np.float32)
    out = np.empty((len(entries), dim), dtype=np.float32)
    for i, e in enumerate(entries):
        out[i] = previous.vectors[e.old] if e.old >= 0 and previous is not None else enc.vectors[e.new]
    return out


def _terms(entries: list[Entry], previous: Previous | None, enc: Encoded) -> Any:
    from ragengine.rerank.sparse import TermMatrix

    assert enc.terms is not None
    if _fresh(entries, enc.terms.n_rows):
        return enc.terms
    base = previous.terms if previous is not None and previous.terms is not None else None
    both = TermMatrix.vstack([base, enc.terms]) if base is not None else enc.terms
    shift = base.n_rows if base is not None else 0
    return both.take([e.old if e.old >= 0 else shift + e.new for e in entries])


def _sentence_table(
    plan: Plan,
    previous: Previous | None,
    enc: Encoded,
    spans: list[list[tuple[int, int]]] | None,
    chunker: Chunker,
    fresh: bool,
) -> Any:
    """The clusters' sentence table in chunk order, from the encoder pass or the previous version."""
    assert enc.sentences is not None and spans is not None
    rows = []
    for e in plan.entries:
        if e.new >= 0 and (fresh or e.old < 0):
            rows.append(sentence_rows(e.chunk.text, spans[e.new], enc.sentences[e.new], chunker.counter))
        else:
            assert previous is not None and previous.sentences is not None
            rows.append(previous.sentences[e.old])
    return sentence_table(rows, enc.vectors.shape[1])


def sentence_rows(text: str, spans: Sequence[tuple[int, int]], vectors: np.ndarray, counter: Any) -> SentenceRows:
    """One chunk's sentences: spans, exact token counts of each sentence alone, and their vectors."""
    sp = np.asarray(spans, dtype=np.int32).reshape(-1, 2)
    toks = np.asarray([max(1, counter.count(text[a:b])) for a, b in sp], dtype=np.int32)
    return SentenceRows(sp, toks, np.asarray(vectors, dtype=np.float16))


def sentence_table(rows: Sequence[SentenceRows], dim: int) -> Any:
    """The ``SentenceTable`` of chunks whose sentences are ``rows`` (row i = chunk i)."""
    from ragengine.cluster.sentences import SentenceTable

    chunk = [np.full(len(r.spans), i, dtype=np.int32) for i, r in enumerate(rows)]
    return SentenceTable(
        np.concatenate(chunk or [np.zeros(0, np.int32)]).astype(np.int32),
        np.concatenate([r.spans for r in rows] or [np.zeros((0, 2), np.int32)]).astype(np.int32).reshape(-1, 2),
        np.concatenate([r.tokens for r in rows] or [np.zeros(0, np.int32)]).astype(np.int32),
        np.concatenate([r.vectors.reshape(-1, dim) for r in rows] or [np.zeros((0, dim), np.float16)]).astype(
            np.float16
        ),
    )


def _write_clusters(tmp: Path, plan: Plan, vectors: np.ndarray, table: Any, spec: VersionSpec) -> None:
    chunks = [e.chunk for e in plan.entries]
    save_clusters_with(tmp, chunks, vectors, table, spec.embedder, spec.chunker.counter, spec.cluster_options)


def save_clusters_with(
    folder: Path,
    chunks: list[Any],
    vectors: np.ndarray,
    table: Any,
    embedder: Embedder,
    counter: Any,
    options: dict[str, Any] | None,
) -> dict[str, Any]:
    """Cluster ``chunks`` over their sentence ``table`` and save ``folder/clusters/``; returns params and cost."""
    from ragengine.cluster import build_clusters, save_clusters

    x = l2_normalise(np.asarray(vectors, dtype=np.float32))
    cs = build_clusters(chunks, x, counter, embedder=embedder, sentences=table, **(options or {}))
    if table is not None:
        cs.params["sentence_vectors"] = "contextual" if embedder.id == TERM_ENCODER else "standalone"
    save_clusters(folder, cs)
    return {**cs.params, "indexing": cs.indexing}
