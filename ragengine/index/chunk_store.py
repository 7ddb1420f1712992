"""Chunks on disk as JSON lines (no pickle), in index order: row i is vector i and BM25 doc i."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ragengine.errors import IndexCorrupted
from ragengine.types import Chunk

CHUNKS = "chunks.jsonl"


def write_chunks(folder: Path, chunks: Iterable[Chunk]) -> int:
    n = 0
    with (folder / CHUNKS).open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_chunks(folder: Path) -> list[Chunk]:
    path = folder / CHUNKS
    out = []
    with path.open("r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            try:
                out.append(Chunk(**json.loads(line)))
            except (json.JSONDecodeError, TypeError) as e:
                raise IndexCorrupted(f"{path}:{lineno} is not a valid chunk record ({e}); rebuild the index") from e
    return out
