"""Clustered retrieval (CRAG, arXiv 2406.00029): clusters and summaries at index time,
cluster granularities (excerpt, best member, summary) offered to the selector at query time.

Index time: ``build_clusters(chunks, vectors, counter, embedder=..., seed=0)`` then
``save_clusters(index_folder, clusters)`` (before the manifest is written, so its files are
checksummed). Query time: ``ClusterAugmenter(index, load_clusters(folder, index.chunks), counter)``
and ``augmenter.augment(retrieved)``; ``augmenter.chunk_vectors`` gives the vectors of derived
candidates for selectors that need them.
"""

from ragengine.cluster.augment import GRANULARITIES, ClusterAugmenter, context_doc_ids, granularity
from ragengine.cluster.build import (
    CLUSTER_DIR,
    ClusterSet,
    build_clusters,
    has_clusters,
    load_clusters,
    n_clusters_for,
    save_clusters,
)
from ragengine.cluster.summary import ClusterSummary

__all__ = [
    "CLUSTER_DIR",
    "GRANULARITIES",
    "ClusterAugmenter",
    "ClusterSet",
    "ClusterSummary",
    "build_clusters",
    "context_doc_ids",
    "granularity",
    "has_clusters",
    "load_clusters",
    "n_clusters_for",
    "save_clusters",
]
