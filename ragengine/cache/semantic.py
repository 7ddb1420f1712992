"""A semantic cache of past questions -> their selected chunks and answers (ERM4's memory reservoir).

Keyed to the index version (``Manifest.version``, a hash of the index files): an entry written
for another version is never served, and is dropped when the cache is opened. A lookup is a hit
when the question is the same text (case, spacing and end punctuation aside), or when its
embedding cosine to a cached question is at least ``threshold`` *and* the two ask the same thing
by ``qmatch.same_question`` (answer type and content words), which is what keeps different
questions about the same paragraph apart. ``namespace`` separates entries made under different
settings (e.g. generator names): a lookup sees only its own namespace. The default threshold
(0.95) is the one tuned on SQuAD articles 1-24 (``ragengine.evaluation.crag_bench``): the lowest
with no false hit there; 0.85 catches more paraphrases (99% vs 92% of rule-made ones) but served
"What religion were the Normans" the cached answer of "What was the Norman religion?" (gold
"Catholic" vs "Catholicism": counted as a false hit by the benchmark's strict rule).

Persisted without pickle in ``folder/``: ``cache.json`` (entries) and ``cache_vectors.npy``
(float32 question embeddings, one row per entry), each written to a temporary file and renamed.
Not safe for concurrent writers (one engine process per cache folder).

Cost: one question embedding (shared with dense retrieval when the caller passes ``qvec``) and
an (entries, d) matrix-vector product: ~1 ms for 10,000 entries.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.cache.qmatch import Signature, same_question, signature
from ragengine.embed.base import Embedder
from ragengine.errors import InvalidInput

log = logging.getLogger(__name__)
ENTRIES = "cache.json"
VECTORS = "cache_vectors.npy"
FORMAT = 1


def normalise(question: str) -> str:
    return " ".join(question.lower().strip().rstrip("?.! ").split())


@dataclass(frozen=True)
class CacheEntry:
    question: str
    answer: str
    chunk_ids: tuple[str, ...]
    doc_ids: tuple[str, ...]
    context_tokens: int
    index_version: str
    namespace: str = ""
    created: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["chunk_ids"], d["doc_ids"] = list(self.chunk_ids), list(self.doc_ids)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CacheEntry:
        return cls(
            str(d["question"]),
            str(d["answer"]),
            tuple(str(x) for x in d["chunk_ids"]),
            tuple(str(x) for x in d["doc_ids"]),
            int(d["context_tokens"]),
            str(d["index_version"]),
            str(d.get("namespace", "")),
            float(d.get("created", 0.0)),
            dict(d.get("extra", {})),
        )


@dataclass(frozen=True)
class CacheHit:
    entry: CacheEntry
    similarity: float
    reason: str

    def trace(self) -> dict[str, Any]:
        return {"cached_question": self.entry.question, "similarity": round(self.similarity, 4), "reason": self.reason}


class SemanticCache:
    """``lookup(question, qvec)`` -> CacheHit | None; ``store(...)`` adds an entry and persists the cache."""

    def __init__(
        self,
        folder: str | Path,
        index_version: str,
        embedder: Embedder | None = None,
        *,
        threshold: float = 0.95,
        max_entries: int = 10_000,
        namespace: str = "",
        check_signature: bool = True,
    ) -> None:
        if not isinstance(index_version, str) or not index_version:
            raise InvalidInput(f"index_version must be a non-empty string (Manifest.version), got {index_version!r}")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 < threshold <= 1.0:
            raise InvalidInput(f"threshold must be a cosine in (0, 1], got {threshold!r}")
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries <= 0:
            raise InvalidInput(f"max_entries must be a positive int, got {max_entries!r}")
        self.folder = Path(folder)
        self.index_version, self.embedder = index_version, embedder
        self.threshold, self.max_entries, self.namespace = float(threshold), max_entries, namespace
        self.check_signature = check_signature
        self.entries: list[CacheEntry] = []
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.invalidated = 0
        self._sigs: list[Signature] = []
        self._mutations = 0
        self._cached_view: tuple[Any, np.ndarray, dict[str, int]] | None = None
        self._load()

    def __len__(self) -> int:
        return len(self.entries)

    # -- persistence ---------------------------------------------------------------------------

    def _load(self) -> None:
        jpath, vpath = self.folder / ENTRIES, self.folder / VECTORS
        if not jpath.is_file():
            return
        try:
            data = json.loads(jpath.read_text(encoding="utf-8"))
            entries = [CacheEntry.from_dict(d) for d in data["entries"]]
            vectors = np.load(vpath, allow_pickle=False) if entries else np.zeros((0, 0), np.float32)
            if len(vectors) != len(entries):
                raise ValueError(f"{len(entries)} entries but {len(vectors)} vectors")
        except (OSError, KeyError, TypeError, ValueError) as e:
            log.warning("ignoring unreadable answer cache in %s (%s); starting empty", self.folder, e)
            return
        emb = getattr(self.embedder, "id", None)
        if emb is not None and data.get("embedder") not in (None, emb):
            self.invalidated = len(entries)
            log.info("answer cache in %s was made with embedder %s; dropped", self.folder, data.get("embedder"))
            return
        keep = [i for i, e in enumerate(entries) if e.index_version == self.index_version]
        self.invalidated = len(entries) - len(keep)
        if self.invalidated:
            log.info("dropped %d cache entries of other index versions", self.invalidated)
        self.entries = [entries[i] for i in keep]
        self.vectors = np.asarray(vectors[keep], dtype=np.float32) if keep else np.zeros((0, 0), np.float32)
        self._sigs = [signature(e.question) for e in self.entries]

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp_v = self.folder / f".{VECTORS}.tmp"
        with tmp_v.open("wb") as f:
            np.save(f, self.vectors.astype(np.float32), allow_pickle=False)
        os.replace(tmp_v, self.folder / VECTORS)
        blob = {
            "format": FORMAT,
            "embedder": getattr(self.embedder, "id", None),
            "entries": [e.to_dict() for e in self.entries],
        }
        tmp_j = self.folder / f".{ENTRIES}.tmp"
        tmp_j.write_text(json.dumps(blob, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp_j, self.folder / ENTRIES)

    def clear(self) -> None:
        self._mutations += 1
        self.entries, self._sigs = [], []
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.save()

    # -- lookup and store ----------------------------------------------------------------------

    def _vector(self, question: str, qvec: np.ndarray | None) -> np.ndarray:
        if qvec is None:
            if self.embedder is None:
                raise InvalidInput("pass qvec (the question embedding) or give the cache an embedder")
            qvec = self.embedder.embed([question])[0]
        v = np.asarray(qvec, dtype=np.float32).reshape(-1)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def _view(self) -> tuple[np.ndarray, dict[str, int]]:
        """Rows servable now (this version and namespace) and their normalised texts (cached)."""
        key = (self._mutations, self.index_version, self.namespace)
        if self._cached_view is None or self._cached_view[0] != key:
            ok = [
                i
                for i, e in enumerate(self.entries)
                if e.index_version == self.index_version and e.namespace == self.namespace
            ]
            norms = {normalise(self.entries[i].question): i for i in ok}
            self._cached_view = (key, np.asarray(ok, dtype=np.int64), norms)
        return self._cached_view[1], self._cached_view[2]

    def explain(self, question: str, qvec: np.ndarray | None = None, top: int = 5) -> dict[str, Any]:
        """The lookup decision with its evidence: ``{"hit": CacheHit | None, "nearest": [...]}``."""
        ok, norms = self._view()
        if ok.size == 0:
            return {"hit": None, "nearest": [], "reason": "cache is empty for this index version"}
        same = norms.get(normalise(question))
        if same is not None:
            return {"hit": CacheHit(self.entries[same], 1.0, "same question text"), "nearest": []}
        q = self._vector(question, qvec)
        if self.vectors.shape[1] != q.shape[0]:
            return {"hit": None, "nearest": [], "reason": "cached vectors have another dimension"}
        sims = self.vectors[ok] @ q
        order = np.argsort(-sims, kind="stable")[:top]
        sig = signature(question)
        nearest = []
        for j in order.tolist():
            i, s = int(ok[j]), float(sims[j])
            if s < self.threshold:
                nearest.append({"question": self.entries[i].question, "similarity": s, "why_not": "below threshold"})
                break
            same_q, why = same_question(sig, self._sigs[i]) if self.check_signature else (True, "cosine only")
            if same_q:
                return {"hit": CacheHit(self.entries[i], s, why), "nearest": nearest}
            nearest.append({"question": self.entries[i].question, "similarity": s, "why_not": why})
        return {"hit": None, "nearest": nearest, "reason": "no cached question asks the same thing"}

    def lookup(self, question: str, qvec: np.ndarray | None = None) -> CacheHit | None:
        """The cached entry that answers ``question`` for this index version, or None."""
        hit = self.explain(question, qvec)["hit"]
        return hit if isinstance(hit, CacheHit) else None

    def store(
        self,
        question: str,
        answer: str,
        chunk_ids: list[str] | tuple[str, ...],
        doc_ids: list[str] | tuple[str, ...],
        context_tokens: int,
        qvec: np.ndarray | None = None,
        *,
        extra: dict[str, Any] | None = None,
        persist: bool = True,
    ) -> CacheEntry:
        """Add (or replace, for the same question text) an entry of this index version and save."""
        if not isinstance(question, str) or not question.strip():
            raise InvalidInput("cannot cache an empty question")
        v = self._vector(question, qvec)
        entry = CacheEntry(
            question.strip(),
            answer,
            tuple(chunk_ids),
            tuple(doc_ids),
            int(context_tokens),
            self.index_version,
            self.namespace,
            time.time(),
            dict(extra or {}),
        )
        norm = normalise(question)
        keep = [
            i
            for i, e in enumerate(self.entries)
            if not (e.namespace == self.namespace and normalise(e.question) == norm)
        ]
        keep = keep[-(self.max_entries - 1) :] if self.max_entries > 1 else []
        old = self.vectors[keep] if self.vectors.size else np.zeros((0, v.shape[0]), np.float32)
        self.entries = [self.entries[i] for i in keep] + [entry]
        self._sigs = [self._sigs[i] for i in keep] + [signature(entry.question)]
        self.vectors = np.vstack([old.reshape(-1, v.shape[0]), v[None, :]]).astype(np.float32)
        self._mutations += 1
        if persist:
            self.save()
        return entry
