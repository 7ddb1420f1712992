"""The index-time flow: load -> chunk -> encode once -> BM25 / FAISS / term weights -> clusters, atomically.

``build_index`` and ``index_paths`` build (or incrementally rebuild) an index by name,
``update_index`` adds, replaces or removes documents, ``add_clusters`` adds clusters to an
existing index. Every change is one new version published atomically (``versions``).
"""

from ragengine.indexing.clusters import add_clusters, write_clusters
from ragengine.indexing.files import index_paths, update_paths
from ragengine.indexing.plan import BuildReport
from ragengine.indexing.versions import build_index, update_index

__all__ = [
    "BuildReport",
    "add_clusters",
    "build_index",
    "index_paths",
    "update_index",
    "update_paths",
    "write_clusters",
]
