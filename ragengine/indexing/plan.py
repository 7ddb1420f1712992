"""Plan a new version of an index: which chunks it holds, in what order, and which of them must be encoded.

Documents arrive grouped by id (``documents.group_documents``) and are compared with the current
version by content hash: an unchanged document keeps its chunks untouched (no chunking, no
encoding); a new or changed one is chunked, and each of its chunks that equals an old chunk
(id, text, metadata) still reuses that chunk's vector and term weights. Modes: ``sync`` (the
given documents are the whole index: the rest are removed), ``add`` (they are added or
replaced; the rest stay in place) and ``remove`` (the named ids leave).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragengine.errors import InvalidInput
from ragengine.indexing.documents import content_hash, group_documents
from ragengine.indexing.previous import Previous
from ragengine.ingest.chunking import Chunker
from ragengine.types import Chunk, Document

MODES = ("sync", "add", "remove")


@dataclass
class BuildReport:
    """What a build or update did, document by document and chunk by chunk."""

    documents_new: int = 0
    documents_changed: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    incremental: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Entry:
    """One chunk of the new version: ``old`` row in the previous version, ``new`` row of the encoder pass."""

    chunk: Chunk
    old: int = -1
    new: int = -1


@dataclass
class Plan:
    entries: list[Entry]
    to_encode: list[Chunk]
    documents: dict[str, dict[str, Any]]


def make_plan(
    docs: Iterable[Document],
    chunker: Chunker,
    previous: Previous | None,
    *,
    mode: str = "sync",
    remove: Sequence[str] = (),
    report: BuildReport,
) -> Plan:
    if mode not in MODES:
        raise InvalidInput(f"unknown update mode {mode!r}; choose one of {', '.join(MODES)}")
    prev_docs = previous.rows_by_doc if previous is not None else {}
    if mode == "remove":
        missing = [d for d in remove if d not in prev_docs]
        if missing:
            raise InvalidInput(
                f"no document {missing[0]!r} in the index ({len(missing)} of the {len(remove)} ids given are "
                "unknown); `ragengine info NAME --documents` lists the ids"
            )
    run: dict[str, list[Entry]] = {}
    status: dict[str, str] = {}
    table: dict[str, dict[str, Any]] = {}
    positions: dict[str, int] = {}
    to_encode: list[Chunk] = []
    for doc_id, parts in group_documents(docs if mode != "remove" else ()):
        again = doc_id in run
        digest = content_hash(parts, table[doc_id]["sha256"] if again else "")
        rows = prev_docs.get(doc_id)
        if previous is not None and rows and not again and previous.documents.get(doc_id, {}).get("sha256") == digest:
            run[doc_id] = [Entry(previous.chunks[r], old=r) for r in rows]
            positions[doc_id] = max(previous.chunks[r].position for r in rows) + 1
            status[doc_id] = "unchanged"
        else:
            entries = run.setdefault(doc_id, [])
            for c in chunker.chunks(parts, positions):
                r = previous.row(c) if previous is not None else None
                if r is None:
                    entries.append(Entry(c, new=len(to_encode)))
                    to_encode.append(c)
                else:
                    entries.append(Entry(c, old=r))
            status[doc_id] = "changed" if again or rows else "new"
        table[doc_id] = {"sha256": digest, "chunks": len(run[doc_id])}
    if mode == "sync" or previous is None:
        order = list(run)
        gone = [d for d in prev_docs if d not in run]
    else:
        kept = [d for d in prev_docs if d not in remove and (d not in run or status[d] == "unchanged")]
        order = kept + [d for d in run if status[d] != "unchanged"]
        gone = [d for d in prev_docs if d in remove]
        for d in kept:
            if d not in run:
                assert previous is not None
                run[d] = [Entry(previous.chunks[r], old=r) for r in prev_docs[d]]
                table[d] = previous.documents.get(d) or {"sha256": "", "chunks": len(prev_docs[d])}
    entries = [e for d in order for e in run[d]]
    documents = {d: table[d] for d in order if run[d]}
    for d in order:
        if run[d] and d in status:
            setattr(report, f"documents_{status[d]}", getattr(report, f"documents_{status[d]}") + 1)
    report.documents_removed += len(gone)
    report.chunks_embedded += len(to_encode)
    report.chunks_reused += sum(1 for e in entries if e.old >= 0)
    report.incremental = previous is not None
    return Plan(entries, to_encode, documents)
