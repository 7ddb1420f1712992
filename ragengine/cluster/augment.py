"""Query-time CRAG: offer the selector each retrieved cluster at several granularities.

The clusters of the best fused candidates are retrieved (``top_clusters`` of them, in the order
their best member ranks; filled up by centroid similarity). Besides the raw member chunks already
in the list, the selector is offered three coarser or finer granularities:

- ``excerpt``: the retrieved clusters' member sentences best matching the question (cosine of the
  question and the stored sentence embeddings, plus ``lexical_weight`` times the share of question
  terms the sentence holds, plus ``rank_weight`` times 60 / (60 + fused rank of its chunk)), in
  ``excerpt_blocks`` disjoint blocks of at most ``excerpt_tokens``,
  each in document order: the clusters' best members at sentence granularity, the cheapest way
  to carry their evidence. Blocks rank first (they are the densest evidence per token).
- ``member``: a cluster's member chunk closest to the question, when retrieval had not ranked it
  (placed right after the cluster's best raw member).
- ``summary``: the cluster summary stored at index time (topic context in few tokens; placed
  right after the cluster's best raw member).

So a selector (MCTS) can trade detail for tokens: a few sentences, a whole chunk, or a summary.
The raw candidates keep their order and scores. Near-duplicates (cosine above
``dedup_threshold`` between candidates of the same granularity) are merged before selection:
the higher-ranked one stays and lists the merged ids in ``metadata["merged"]``.

Citations stay meaningful: a derived candidate's ``metadata`` names the chunks and documents its
text came from (``source_chunk_ids``/``source_doc_ids``; ``context_doc_ids`` reads them) and
the cluster's members (``members``, ``member_doc_ids``). Its ``n_tokens`` is exact.

Cost per query: a (k, d) and a (sentences of the chosen clusters, d) matrix-vector product, a
term match per pooled sentence (memoised) and one exact token count per derived text: a few ms
for three clusters of ~60 chunks. No LLM, no embedding call when ``retrieved`` has the query
vector (hybrid or dense retrieval).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ragengine.cluster.build import ClusterSet
from ragengine.cluster.sentences import pack_text
from ragengine.embed.base import Embedder
from ragengine.errors import InvalidInput
from ragengine.index.base import ChunkStore
from ragengine.text import terms
from ragengine.tokens import TokenCounter
from ragengine.types import Candidate, Chunk, Retrieved

GRANULARITIES = ("excerpt", "member", "summary")


def context_doc_ids(chunk: Chunk) -> list[str]:
    """The documents whose text a candidate actually places in the prompt (for recall metrics)."""
    src = chunk.metadata.get("source_doc_ids")
    return list(src) if isinstance(src, list) else [chunk.doc_id]


def granularity(chunk: Chunk) -> str:
    return str(chunk.metadata.get("granularity", "chunk"))


def _kind(chunk: Chunk) -> str:
    g = granularity(chunk)
    return "chunk" if g in ("chunk", "member") else g


class ClusterAugmenter:
    """``augment(retrieved)`` returns the candidates with cluster granularities added and duplicates merged."""

    def __init__(
        self,
        index: ChunkStore,
        clusters: ClusterSet,
        counter: TokenCounter,
        *,
        top_clusters: int = 3,
        excerpt_tokens: int = 64,
        excerpt_blocks: int = 4,
        lexical_weight: float = 0.3,
        rank_weight: float = 0.3,
        granularities: Sequence[str] = GRANULARITIES,
        dedup_threshold: float = 0.95,
        embedder: Embedder | None = None,
    ) -> None:
        for name, v, low in (
            ("top_clusters", top_clusters, 1),
            ("excerpt_tokens", excerpt_tokens, 8),
            ("excerpt_blocks", excerpt_blocks, 1),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InvalidInput(f"{name} must be an int >= {low}, got {v!r}")
        for name, w in (("lexical_weight", lexical_weight), ("rank_weight", rank_weight)):
            if isinstance(w, bool) or not isinstance(w, int | float) or w < 0:
                raise InvalidInput(f"{name} must be a number >= 0, got {w!r}")
        bad = [g for g in granularities if g not in GRANULARITIES]
        if bad:
            raise InvalidInput(f"unknown granularities {bad}; choose from {', '.join(GRANULARITIES)}")
        if isinstance(dedup_threshold, bool) or not isinstance(dedup_threshold, int | float):
            raise InvalidInput(f"dedup_threshold must be a number in (0, 1], got {dedup_threshold!r}")
        if not 0.0 < float(dedup_threshold) <= 1.0:
            raise InvalidInput(f"dedup_threshold must be in (0, 1] (1 merges exact duplicates), got {dedup_threshold}")
        if clusters.assign.shape[0] != len(index.chunks):
            raise InvalidInput(
                f"the clusters cover {clusters.assign.shape[0]} chunks but the index has {len(index.chunks)}; "
                "rebuild them"
            )
        self.index, self.clusters, self.counter, self.embedder = index, clusters, counter, embedder
        self.top_clusters, self.excerpt_tokens = top_clusters, excerpt_tokens
        self.excerpt_blocks, self.lexical_weight = excerpt_blocks, float(lexical_weight)
        self.rank_weight = float(rank_weight)
        self.granularities = tuple(granularities)
        self.dedup_threshold = float(dedup_threshold)
        self.texts = [c.text for c in index.chunks]
        self.pos = {c.chunk_id: i for i, c in enumerate(index.chunks)}
        self._vecs: dict[str, np.ndarray] = {}
        self._sent_terms: dict[int, frozenset[str]] = {}
        self._sent_keys: dict[int, str] = {}

    # -- vectors -------------------------------------------------------------------------------

    def _row_vectors(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        return np.asarray(self.index.vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def chunk_vectors(self, candidates: Sequence[Candidate]) -> np.ndarray:
        """Vectors of raw and derived candidates (derived: normalised mean of their sentences)."""
        out = np.zeros((len(candidates), self.clusters.centroids.shape[1]), dtype=np.float32)
        for i, c in enumerate(candidates):
            cid = c.chunk.chunk_id
            if cid in self._vecs:
                out[i] = self._vecs[cid]
            elif cid in self.pos:
                out[i] = self._row_vectors([self.pos[cid]])[0]
            else:
                raise InvalidInput(f"no vector for candidate {cid!r}: it was not made by this augmenter or index")
        return out

    # -- derived candidates --------------------------------------------------------------------

    def _meta(self, clusters: list[int], gran: str, rows: Sequence[int]) -> dict[str, Any]:
        chunks = self.index.chunks
        members = np.concatenate([self.clusters.members(c) for c in clusters]) if clusters else np.zeros(0, np.int64)
        return {
            "granularity": gran,
            "clusters": clusters,
            "source_chunk_ids": [chunks[r].chunk_id for r in rows],
            "source_doc_ids": list(dict.fromkeys(chunks[r].doc_id for r in rows)),
            "members": [chunks[int(r)].chunk_id for r in members],
            "member_doc_ids": list(dict.fromkeys(chunks[int(r)].doc_id for r in members)),
        }

    def _key(self, sid: int) -> str:
        got = self._sent_keys.get(sid)
        if got is None:
            got = " ".join(self.clusters.sentences.text(sid, self.texts).lower().split())
            self._sent_keys[sid] = got
        return got

    def _terms(self, sid: int) -> frozenset[str]:
        got = self._sent_terms.get(sid)
        if got is None:
            got = frozenset(terms(self.clusters.sentences.text(sid, self.texts)))
            self._sent_terms[sid] = got
        return got

    def _excerpts(self, chosen: list[int], q: np.ndarray, query: str, rank: dict[int, int]) -> list[Chunk]:
        """Disjoint blocks of the chosen clusters' sentences, best first, each within ``excerpt_tokens``."""
        cs = self.clusters
        sids = cs.sentences_of(np.concatenate([cs.members(c) for c in chosen]) if chosen else np.zeros(0, np.int64))
        if sids.size == 0:
            return []
        score = cs.sentences.vectors[sids].astype(np.float32) @ q
        qt = frozenset(terms(query))
        if qt and self.lexical_weight > 0:
            lex = np.asarray([len(qt & self._terms(int(s))) / len(qt) for s in sids], dtype=np.float32)
            score = score + self.lexical_weight * lex
        if self.rank_weight > 0:  # the fused rank of the sentence's chunk: 1 for the top hit, ~0.4 unretrieved
            prior = np.asarray([60.0 / (60 + rank.get(int(cs.sentences.chunk[s]), 90)) for s in sids], np.float32)
            score = score + self.rank_weight * prior
        order = [int(sids[i]) for i in np.lexsort((sids, -score))]
        out: list[Chunk] = []
        used: set[int] = set()
        keys = {sid: self._key(sid) for sid in order}
        same_text: dict[str, list[int]] = {}  # overlapping chunks repeat sentences: one block each
        for sid in order:
            same_text.setdefault(keys[sid], []).append(sid)
        tag = "+".join(str(c) for c in chosen)
        for j in range(self.excerpt_blocks):
            ids, text, n_tok = pack_text(
                order,
                cs.sentences,
                self.texts,
                self.counter,
                self.excerpt_tokens,
                skip=used,
                first_cap=2 * self.excerpt_tokens,
                keys=keys,
            )
            if not ids:
                break
            for i in ids:
                used.update(same_text[keys[i]])
            rows = list(dict.fromkeys(int(cs.sentences.chunk[i]) for i in ids))
            from_clusters = list(dict.fromkeys(int(cs.assign[r]) for r in rows))
            digest = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:8]
            cid = f"clusters:{tag}:excerpt:{j}:{digest}"  # content-addressed: one id, one text
            vec = cs.sentences.vectors[ids].astype(np.float32).mean(axis=0)
            self._vecs[cid] = vec / max(float(np.linalg.norm(vec)), 1e-12)
            meta = self._meta(from_clusters, "excerpt", rows)
            out.append(Chunk(cid, f"clusters:{tag}", text, n_tok, j, meta))
        return out

    def _summary(self, cluster: int) -> Chunk | None:
        s = self.clusters.summaries[cluster] if cluster < len(self.clusters.summaries) else None
        if s is None or not s.text or s.n_tokens <= 0:
            return None
        cid = f"cluster:{cluster}:summary"
        self._vecs[cid] = self.clusters.centroids[cluster].astype(np.float32)
        meta = {**self._meta([cluster], "summary", list(s.source_rows)), "summary_mode": s.mode}
        return Chunk(cid, f"cluster:{cluster}", s.text, s.n_tokens, 0, meta)

    def _member(self, cluster: int, q: np.ndarray, have: set[int]) -> Chunk | None:
        members = self.clusters.members(cluster)
        if members.size == 0:
            return None
        best = int(members[int(np.argmax(self._row_vectors(members) @ q))])
        if best in have:
            return None
        c = self.index.chunks[best]
        return replace(c, metadata={**c.metadata, **self._meta([cluster], "member", [best])})

    # -- the stage -----------------------------------------------------------------------------

    def _chosen_clusters(self, rows: list[int], q: np.ndarray) -> list[int]:
        chosen: list[int] = []
        for r in rows:
            c = int(self.clusters.assign[r])
            if c not in chosen:
                chosen.append(c)
            if len(chosen) == self.top_clusters:
                return chosen
        for c in np.argsort(-(self.clusters.centroids @ q), kind="stable").tolist():
            if len(chosen) == self.top_clusters:
                break
            if c not in chosen:
                chosen.append(int(c))
        return chosen

    def augment(self, question: str, retrieved: Retrieved) -> Retrieved:
        """The candidates of ``retrieved`` plus cluster granularities, near-duplicates merged, re-ranked.

        Idempotent: candidates that already went through an augmenter (``stats["clusters"]``, as
        ``Engine.retrieve`` returns them with clusters on) are returned unchanged.
        """
        if "clusters" in retrieved.stats:
            return retrieved
        q = retrieved.query_vector
        if q is None and self.embedder is not None:
            q = self.embedder.embed([question])[0]
        if q is None:
            return replace(retrieved, stats={**retrieved.stats, "clusters": {"skipped": "no query vector"}})
        q = np.asarray(q, dtype=np.float32).reshape(-1)
        if len(self._vecs) > 50_000:  # derived ids are content-addressed; forgetting old ones is safe
            self._vecs.clear()
        raw = list(retrieved.candidates)
        rows = [self.pos[c.chunk.chunk_id] for c in raw if c.chunk.chunk_id in self.pos]
        chosen = self._chosen_clusters(rows, q)
        have = set(rows)
        after: dict[int, list[Chunk]] = {}
        for c in chosen:
            member = self._member(c, q, have) if "member" in self.granularities else None
            summ = self._summary(c) if "summary" in self.granularities else None
            after[c] = [x for x in (member, summ) if x is not None]
        top = max((c.score for c in raw), default=1.0)
        seq: list[tuple[Chunk, float, dict[str, float]]] = []
        if "excerpt" in self.granularities:
            for ch in self._excerpts(chosen, q, question, {r: i for i, r in enumerate(rows)}):
                seq.append((ch, top, {"derived": 1.0, "block": float(ch.position)}))
        sims = self.clusters.centroids @ q
        for cand in raw:
            seq.append((cand.chunk, cand.score, dict(cand.scores)))
            r = self.pos.get(cand.chunk.chunk_id)
            c = int(self.clusters.assign[r]) if r is not None else -1
            if c in after:  # right after the cluster's best-ranked raw member
                seq.extend((ch, cand.score, {"cluster": float(sims[c]), "derived": 1.0}) for ch in after.pop(c))
        tail = min((c.score for c in raw), default=0.0)
        for c, extra in after.items():  # clusters reached by centroid only
            seq.extend((ch, tail, {"cluster": float(sims[c]), "derived": 1.0}) for ch in extra)
        kept, merged = self._merge(seq)
        cands = [Candidate(ch, s, i, sc) for i, (ch, s, sc) in enumerate(kept)]
        added = {g: sum(1 for ch, _, _ in kept if granularity(ch) == g) for g in GRANULARITIES}
        stats = {
            **retrieved.stats,
            "clusters": {"chosen": chosen, "added": added, "merged": merged, "candidates": len(cands)},
        }
        return Retrieved(cands, q, stats)

    def _merge(self, seq: list[tuple[Chunk, float, dict[str, float]]]) -> tuple[list[Any], int]:
        if not seq:
            return [], 0
        vecs = self.chunk_vectors([Candidate(ch, 0.0, 0) for ch, _, _ in seq])
        kinds = [_kind(ch) for ch, _, _ in seq]
        keep: list[int] = []
        absorbed: dict[int, list[str]] = {}
        for i in range(len(seq)):
            target = None
            for j in keep:
                if kinds[j] == kinds[i] and float(vecs[i] @ vecs[j]) > self.dedup_threshold - 1e-6:
                    target = j
                    break
            if target is None:
                keep.append(i)
            else:
                absorbed.setdefault(target, []).append(seq[i][0].chunk_id)
        out = []
        for i in keep:
            ch, s, sc = seq[i]
            if i in absorbed:
                ch = replace(ch, metadata={**ch.metadata, "merged": absorbed[i]})
            out.append((ch, s, sc))
        return out, len(seq) - len(keep)
