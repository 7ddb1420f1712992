"""What an index holds, for people: document and chunk counts, chunk sizes, and its CRAG clusters.

Read by ``ragengine info``, the console's Index page and ``Engine.corpus_stats`` /
``Engine.cluster_overview``. Cost: one pass over the loaded chunks.
"""

from __future__ import annotations

from typing import Any

from ragengine.types import Chunk


def corpus_stats(chunks: list[Chunk]) -> dict[str, Any]:
    """Counts and chunk sizes of an index's chunks."""
    sizes = [c.n_tokens for c in chunks]
    docs: dict[str, int] = {}
    for c in chunks:
        docs[c.doc_id] = docs.get(c.doc_id, 0) + 1
    return {
        "documents": len(docs),
        "chunks": len(sizes),
        "chunk_tokens": sizes,
        "mean_chunk_tokens": sum(sizes) / max(1, len(sizes)),
        "total_tokens": sum(sizes),
        "largest_documents": sorted(docs.items(), key=lambda kv: -kv[1])[:10],
    }


def cluster_overview(clusters: Any, chunks: list[Chunk], top_documents: int = 5) -> dict[str, Any]:
    """Parameters of a ``ClusterSet`` and, per cluster, its size, main documents and stored summary;
    ``clusters`` None gives ``{"clusters": []}``."""
    if clusters is None:
        return {"params": {}, "indexing": {}, "clusters": []}
    cs = clusters
    rows = []
    for c in range(cs.k):
        members = cs.members(c)
        docs: dict[str, int] = {}
        for r in members.tolist():
            docs[chunks[int(r)].doc_id] = docs.get(chunks[int(r)].doc_id, 0) + 1
        s = cs.summaries[c] if c < len(cs.summaries) else None
        rows.append(
            {
                "cluster": c,
                "chunks": int(members.size),
                "documents": len(docs),
                "top_documents": [d for d, _ in sorted(docs.items(), key=lambda kv: -kv[1])[:top_documents]],
                "summary": s.text if s is not None else "",
                "summary_tokens": s.n_tokens if s is not None else 0,
                "summary_mode": s.mode if s is not None else "",
            }
        )
    return {"params": dict(cs.params), "indexing": dict(cs.indexing), "clusters": rows}
