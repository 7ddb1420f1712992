"""The index manifest: what built the index, and checksums of every file, checked on load.

Loading an index with a different embedder, tokenizer or format version is an
``IndexMismatch``; a missing or altered file is ``IndexCorrupted``. Both name the fix.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ragengine.errors import IndexCorrupted, IndexMismatch
from ragengine.index.chunk_store import CHUNKS
from ragengine.paths import sha256_file

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FIELD_TYPES: dict[str, type] = {
    "name": str,
    "embedder": str,
    "dim": int,
    "tokenizer": str,
    "chunking": dict,
    "dense_kind": str,
    "bm25": dict,
    "n_documents": int,
    "n_chunks": int,
    "format_version": int,
    "created": str,
    "files": dict,
    "sources": list,
}


def _hidden(rel: Path) -> bool:
    """Hidden entries (temp folders, locks) are never part of an index's content."""
    return any(part.startswith(".") for part in rel.parts)


DOC_ID_MODES = ("path", "relative")


@dataclass
class Manifest:
    name: str
    embedder: str
    dim: int
    tokenizer: str
    chunking: dict[str, Any]
    dense_kind: str
    bm25: dict[str, Any]
    n_documents: int
    n_chunks: int
    format_version: int = FORMAT_VERSION
    created: str = ""
    files: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    doc_ids: str = "path"
    """How files were named: ``path`` (as given to the build; every index before this field) or
    ``relative`` (by their path inside the folder given); ``add`` names new files the same way."""

    def write(self, folder: Path) -> None:
        self.files = {
            p.relative_to(folder).as_posix(): sha256_file(p)
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST and not _hidden(p.relative_to(folder))
        }
        (folder / MANIFEST).write_text(json.dumps(asdict(self), indent=2, sort_keys=True), encoding="utf-8")

    @property
    def version(self) -> str:
        """A short id of this index's content: changes whenever any file changes (cache keys use it)."""
        blob = json.dumps(self.files, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        if not path.is_file():
            raise IndexCorrupted(f"{folder} has no {MANIFEST}; rebuild it with `ragengine index PATH --name NAME`")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = cls(**data)
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as e:
            raise IndexCorrupted(f"{path} is not a valid manifest ({e}); rebuild the index") from e
        problem = manifest._schema_problem()
        if problem:
            raise IndexCorrupted(f"{path} is not a valid manifest ({problem}); rebuild the index")
        return manifest

    def _schema_problem(self) -> str:
        """What is wrong with the fields' types, or "" (a manifest read from disk is untrusted)."""
        for name, kind in _FIELD_TYPES.items():
            value = getattr(self, name)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                return f"{name} must be {kind.__name__}, not {type(value).__name__}"
        if self.doc_ids not in DOC_ID_MODES:
            return f"doc_ids must be one of {', '.join(DOC_ID_MODES)}, not {self.doc_ids!r}"
        if not self.files:
            return "it lists no files, so nothing could be checked"
        bad = [k for k, v in self.files.items() if not isinstance(k, str) or not _SHA256.fullmatch(str(v))]
        if bad:
            return f"files[{bad[0]!r}] is not a sha256 checksum"
        if CHUNKS not in self.files:
            return f"it does not list {CHUNKS}"
        return ""

    def check_compatible(self, *, embedder: str | None = None, tokenizer: str | None = None) -> None:
        if self.format_version != FORMAT_VERSION:
            raise IndexMismatch(
                f"index {self.name!r} has format version {self.format_version}, this ragengine reads "
                f"{FORMAT_VERSION}; rebuild it with `ragengine index`"
            )
        if embedder is not None and embedder != self.embedder:
            raise IndexMismatch(
                f"index {self.name!r} was built with embedder {self.embedder!r} but {embedder!r} was asked for; "
                f"load it with embedder={self.embedder!r} or rebuild it with the new embedder"
            )
        if tokenizer is not None and tokenizer != self.tokenizer:
            raise IndexMismatch(
                f"index {self.name!r} counts tokens with {self.tokenizer!r} but the generator uses {tokenizer!r}; "
                "rebuild the index with --tokenizer matching the generator"
            )

    def verify_files(self, folder: Path) -> None:
        for rel, digest in self.files.items():
            p = folder / rel
            if not p.is_file():
                raise IndexCorrupted(f"index {self.name!r} is missing {rel}; rebuild it with `ragengine index`")
            if sha256_file(p) != digest:
                raise IndexCorrupted(
                    f"index {self.name!r}: {rel} does not match its checksum (corrupted or edited); rebuild it"
                )
