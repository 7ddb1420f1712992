"""A semantic cache of past questions -> their selected chunks and answers (ERM4's memory reservoir).

Keyed to the index version (``Manifest.version``, a hash of the index files): an entry written
for another version is never served, and is dropped when the cache is opened. A lookup is a hit
when the question is the same text (case, spacing and end punctuation aside), or when its
embedding cosine to a cached question is at least ``threshold`` *and* the two ask the same thing
by ``qmatch.same_question`` (answer type and content words), which is what keeps different
questions about the same paragraph apart. ``namespace`` separates entries made under different
settings (e.g. generator names): a lookup sees only its own namespace. The default threshold
(0.95) is the one tuned on SQuAD articles 1-24 (``ragengine.evaluation.experiments.crag``): the lowest
with no false hit there; 0.85 catches more paraphrases (99% vs 92% of rule-made ones) but served
"What religion were the Normans" the cached answer of "What was the Norman religion?" (gold
"Catholic" vs "Catholicism": counted as a false hit by the benchmark's strict rule).

Persisted without pickle in ``folder/``: ``cache.json`` (entries) and ``cache_vectors.npy``
(float32 question embeddings, one row per entry), each written to a uniquely named temporary file
and renamed. Several threads and processes may share one cache folder: reads and writes hold a
file lock (``filelock``, ``.cache.lock``) and a thread lock, and a write merges what other writers
stored since this cache was read (the newest entry per question wins) instead of overwriting it.
A folder that cannot be written (read-only, full disk) degrades to an in-memory cache with one
warning: the answer that was being cached is never lost.

Cost: one question embedding (shared with dense retrieval when the caller passes ``qvec``) and
an (entries, d) matrix-vector product: ~1 ms for 10,000 entries.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from ragengine.cache.qmatch import Signature, same_question, signature
from ragengine.embed.base import Embedder
from ragengine.errors import InvalidInput

log = logging.getLogger(__name__)
ENTRIES = "cache.json"
VECTORS = "cache_vectors.npy"
LOCK = ".cache.lock"
FORMAT = 1
LOCK_TIMEOUT_S = 30.0


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
        self._thread_lock = threading.RLock()
        self.writable = True
        """False once a write failed (read-only folder, full disk): the cache then lives in memory only."""
        self._load()

    def __len__(self) -> int:
        return len(self.entries)

    # -- persistence ---------------------------------------------------------------------------

    def _file_lock(self) -> FileLock:
        return FileLock(str(self.folder / LOCK), timeout=LOCK_TIMEOUT_S)

    def _read(self) -> tuple[list[CacheEntry], np.ndarray] | None:
        """The entries and vectors on disk that this cache may use, or None when there are none."""
        jpath, vpath = self.folder / ENTRIES, self.folder / VECTORS
        if not jpath.is_file():
            return None
        try:
            data = json.loads(jpath.read_text(encoding="utf-8"))
            entries = [CacheEntry.from_dict(d) for d in data["entries"]]
            vectors = np.load(vpath, allow_pickle=False) if entries else np.zeros((0, 0), np.float32)
            if len(vectors) != len(entries):
                raise ValueError(f"{len(entries)} entries but {len(vectors)} vectors")
        except (OSError, KeyError, TypeError, ValueError) as e:
            log.warning("ignoring unreadable answer cache in %s (%s); starting empty", self.folder, e)
            return None
        emb = getattr(self.embedder, "id", None)
        if emb is not None and data.get("embedder") not in (None, emb):
            self.invalidated = len(entries)
            log.info("answer cache in %s was made with embedder %s; dropped", self.folder, data.get("embedder"))
            return None
        keep = [i for i, e in enumerate(entries) if e.index_version == self.index_version]
        self.invalidated = len(entries) - len(keep)
        if self.invalidated:
            log.info("dropped %d cache entries of other index versions", self.invalidated)
        vecs = np.asarray(vectors[keep], dtype=np.float32) if keep else np.zeros((0, 0), np.float32)
        return [entries[i] for i in keep], vecs

    def _load(self) -> None:
        if not (self.folder / ENTRIES).is_file():
            return
        try:
            with self._file_lock():
                got = self._read()
        except (OSError, Timeout) as e:  # a read-only folder cannot hold the lock file: read without it
            log.debug("reading the answer cache in %s without its lock (%s)", self.folder, e)
            got = self._read()
        if got is not None:
            self.entries, self.vectors = got
            self._sigs = [signature(e.question) for e in self.entries]

    def _merge(self, disk: tuple[list[CacheEntry], np.ndarray] | None) -> None:
        """Take in what other writers stored: per (namespace, question) the newest entry wins."""
        if disk is None or not disk[0]:
            return
        d_entries, d_vecs = disk
        dim = self.vectors.shape[1] if self.vectors.size else d_vecs.shape[1]
        if d_vecs.shape[1] != dim:
            return
        rows: dict[tuple[str, str], tuple[CacheEntry, np.ndarray]] = {}
        mine = self.vectors.reshape(-1, dim) if self.vectors.size else np.zeros((0, dim), np.float32)
        for e, v in [*zip(d_entries, d_vecs, strict=True), *zip(self.entries, mine, strict=True)]:
            key = (e.namespace, normalise(e.question))
            if key not in rows or e.created >= rows[key][0].created:
                rows[key] = (e, v)
        merged = sorted(rows.values(), key=lambda ev: ev[0].created)[-self.max_entries :]
        self.entries = [e for e, _ in merged]
        self.vectors = np.asarray([v for _, v in merged], dtype=np.float32).reshape(len(merged), dim)
        self._sigs = [signature(e.question) for e in self.entries]
        self._mutations += 1

    def _write(self) -> None:
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp_v = self.folder / f".{VECTORS}.{tag}.tmp"
        tmp_j = self.folder / f".{ENTRIES}.{tag}.tmp"
        blob = {
            "format": FORMAT,
            "embedder": getattr(self.embedder, "id", None),
            "entries": [e.to_dict() for e in self.entries],
        }
        try:
            with tmp_v.open("wb") as f:
                np.save(f, self.vectors.astype(np.float32), allow_pickle=False)
            tmp_j.write_text(json.dumps(blob, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp_v, self.folder / VECTORS)
            os.replace(tmp_j, self.folder / ENTRIES)
        finally:
            for t in (tmp_v, tmp_j):
                t.unlink(missing_ok=True)

    def save(self, *, merge: bool = True) -> bool:
        """Persist (merging what other writers stored since, unless ``merge`` is False); False when
        the folder cannot be written, after which the cache stays in memory (one warning)."""
        if not self.writable:
            return False
        with self._thread_lock:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                with self._file_lock():
                    if merge:
                        self._merge(self._read())
                    self._write()
                return True
            except (OSError, Timeout) as e:
                self.writable = False
                log.warning("the answer cache in %s cannot be written (%s); caching in memory only", self.folder, e)
                return False

    def clear(self) -> None:
        with self._thread_lock:
            self._mutations += 1
            self.entries, self._sigs = [], []
            self.vectors = np.zeros((0, 0), dtype=np.float32)
            self.save(merge=False)

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
        with self._thread_lock:
            return self._explain(question, qvec, top)

    def _explain(self, question: str, qvec: np.ndarray | None, top: int) -> dict[str, Any]:
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
        with self._thread_lock:
            self._add(entry, v)
            if persist:
                self.save()
        return entry

    def _add(self, entry: CacheEntry, v: np.ndarray) -> None:
        norm = normalise(entry.question)
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
