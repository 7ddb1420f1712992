"""Which documents an index holds, each with a content hash, so an update knows what is new, changed or gone.

``documents.json`` in an index folder maps each document id to the sha256 of its text and
metadata (over all its streamed parts, in order) and its number of chunks. A rebuild or an
update hashes the incoming documents the same way: an equal hash means the document's chunks,
vectors and term weights are kept as they are, with no chunking and no encoder pass.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ragengine.errors import IndexCorrupted
from ragengine.types import Document

DOCUMENTS = "documents.json"


def group_documents(docs: Iterable[Document]) -> Iterator[tuple[str, list[Document]]]:
    """Consecutive parts of one document id together (a streamed file yields its parts in a row)."""
    doc_id: str | None = None
    parts: list[Document] = []
    for d in docs:
        if parts and d.doc_id != doc_id:
            yield str(doc_id), parts
            parts = []
        doc_id = d.doc_id
        parts.append(d)
    if parts:
        yield str(doc_id), parts


def content_hash(parts: Iterable[Document], previous: str = "") -> str:
    """sha256 over the parts' text and JSON-able metadata (and a hash this document already had in this run)."""
    h = hashlib.sha256(previous.encode("ascii"))
    for d in parts:
        meta = {k: v for k, v in d.metadata.items() if isinstance(v, str | int | float | bool)}
        h.update(json.dumps([d.text, meta], ensure_ascii=False, sort_keys=True).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def write_documents(folder: Path, table: dict[str, dict[str, Any]]) -> None:
    (folder / DOCUMENTS).write_text(json.dumps(table, ensure_ascii=False, sort_keys=True), encoding="utf-8")


def read_documents(folder: Path) -> dict[str, dict[str, Any]]:
    """The table of ``folder``; empty for an index written before documents were hashed."""
    path = folder / DOCUMENTS
    if not path.is_file():
        return {}
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        ok = isinstance(table, dict) and all(
            isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in table.values()
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise IndexCorrupted(f"{path} is not valid JSON ({e}); rebuild the index") from e
    if not ok:
        raise IndexCorrupted(f"{path} is not a document table (id -> sha256, chunks); rebuild the index")
    return table
