"""An index folder: find it by name, list them, and load one with its manifest checked.

An index is a folder ``indexes/NAME/``: ``chunks.jsonl``, ``dense.faiss``, ``vectors.npy``
(float16, for rewards that need chunk vectors), ``bm25/``, optional ``terms.npz`` and
``clusters/``, and ``manifest.json`` (checksums of every file). ``ragengine.indexing`` builds
one; loading verifies the checksums and refuses another embedder with ``IndexMismatch``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import IndexNotFound, InvalidInput
from ragengine.index.bm25 import BM25Index
from ragengine.index.chunk_store import read_chunks
from ragengine.index.dense import DenseIndex
from ragengine.index.manifest import MANIFEST, Manifest
from ragengine.index.publish import recover
from ragengine.paths import index_root
from ragengine.types import Chunk

log = logging.getLogger(__name__)
VECTORS = "vectors.npy"
TERM_ENCODER = "all-MiniLM-L6-v2-onnx-int8"  # the encoder the shipped term weights were trained on
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def default_root() -> Path:
    return index_root()


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(f"index name {name!r} must be 1-100 letters, digits, '.', '_' or '-', not starting with '.'")
    return name


def list_indexes(root: str | Path | None = None) -> list[str]:
    """Names of the complete indexes under ``root`` (folders with a manifest)."""
    base = Path(root) if root is not None else default_root()
    if not base.is_dir():
        return []
    return sorted(d.name for d in base.iterdir() if not d.name.startswith(".") and (d / MANIFEST).is_file())


def resolve_index_dir(name_or_path: str | Path, root: str | Path | None = None) -> Path:
    """A folder holding a manifest, or ``root/NAME``; IndexNotFound lists what exists."""
    p = Path(name_or_path)
    if (p / MANIFEST).is_file():
        return p
    base = Path(root) if root is not None else default_root()
    cand = base / str(name_or_path)
    if (cand / MANIFEST).is_file() or (_NAME.fullmatch(str(name_or_path)) and recover(base, str(name_or_path))):
        return cand
    have = list_indexes(base)
    listing = ", ".join(have) if have else "none"
    raise IndexNotFound(
        f"no index named {str(name_or_path)!r} in {base}/ (indexes there: {listing}); "
        f"build it with `ragengine index PATH --name {name_or_path}`"
    )


@dataclass
class LoadedIndex:
    folder: Path
    manifest: Manifest
    chunks: list[Chunk]
    dense: DenseIndex
    bm25: BM25Index
    vectors: np.ndarray

    @property
    def stemmer(self) -> Any:
        return getattr(self.bm25, "stemmer", None)

    def dense_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.dense.search(queries, k)

    def lexical_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.bm25.search([query], k)[0]

    @classmethod
    def load(
        cls, folder: Path, *, embedder: str | None = None, tokenizer: str | None = None, verify: bool = True
    ) -> LoadedIndex:
        manifest = Manifest.read(folder)
        manifest.check_compatible(embedder=embedder, tokenizer=tokenizer)
        if verify:
            manifest.verify_files(folder)
        chunks = read_chunks(folder)
        vectors = np.load(folder / VECTORS, allow_pickle=False, mmap_mode="r")
        return cls(
            folder, manifest, chunks, DenseIndex.load(folder, manifest.dense_kind), BM25Index.load(folder), vectors
        )
