"""Add (or rebuild) the CRAG clusters of an existing index, as one atomic new version.

The clusters are written into a temp folder beside the index (hard links to its unchanged files)
and swapped in whole, so a failure leaves the index as it was; the manifest's version changes.
Sentence vectors come from one pass over the chunks (each sentence the mean of its tokens'
contextual states) with the default embedder, else from embedding each sentence.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.embed.base import Embedder
from ragengine.index.publish import failpoint, new_temp, publish, stage_copy
from ragengine.index.store import TERM_ENCODER, LoadedIndex
from ragengine.indexing.build import save_clusters_with, sentence_rows, sentence_table
from ragengine.indexing.encode import encode_texts
from ragengine.indexing.progress import Progress
from ragengine.indexing.versions import _writing
from ragengine.text import sentence_spans
from ragengine.tokens import TokenCounter


def add_clusters(
    folder: Path, embedder: Embedder, counter: TokenCounter, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build (or rebuild) the clusters of the index in ``folder``; returns their parameters and indexing cost."""
    from ragengine.cluster import CLUSTER_DIR

    base, name = folder.parent, folder.name
    with _writing(base, name):
        idx = LoadedIndex.load(folder, embedder=embedder.id)
        tmp = new_temp(base, name)
        try:
            stage_copy(folder, tmp, skip={CLUSTER_DIR})
            failpoint("staged")
            info = write_clusters(tmp, idx.chunks, np.asarray(idx.vectors), embedder, counter, options)
            failpoint("clustered")
            idx.manifest.write(tmp)
            publish(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return info


def write_clusters(
    folder: Path,
    chunks: list[Any],
    vectors: np.ndarray,
    embedder: Embedder,
    counter: TokenCounter,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Cluster ``chunks`` and save ``folder/clusters/``; returns the clusters' parameters and indexing cost."""
    table = None
    if embedder.id == TERM_ENCODER:
        texts = [c.text for c in chunks]
        spans = [sentence_spans(t) for t in texts]
        enc = encode_texts(texts, embedder, with_terms=False, spans=spans, progress=Progress(False, None))
        assert enc.sentences is not None
        rows = [sentence_rows(t, sp, v, counter) for t, sp, v in zip(texts, spans, enc.sentences, strict=True)]
        table = sentence_table(rows, int(np.asarray(vectors).shape[1]))
    return save_clusters_with(folder, chunks, vectors, table, embedder, counter, options)
