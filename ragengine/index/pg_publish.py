"""Write a built index folder into PostgreSQL as a new version, and read a version back as a folder.

A version schema holds three tables:

- ``chunks(row, chunk_id, doc_id, text, data, embedding, tsv)``: one row per chunk in index
  order; ``embedding`` is ``vector(dim)`` (the float32 vectors FAISS searches, so exact search in
  PostgreSQL equals the local flat index) under an HNSW index with cosine ops; ``tsv`` is a
  generated ``to_tsvector('english', text)`` under a GIN index; ``data`` is the chunk's JSON.
- ``postings(term, row, score)``: the BM25 index itself, the per-(term, chunk) Lucene BM25
  scores bm25s computed at build time (same tokenizer, stopwords and stemmer), under a b-tree on
  ``term``: a query sums its terms' postings in SQL and ranks exactly as the local store does.
- ``files(name, part, data)``: every file of the local folder (term weights, clusters, document
  hashes, and the searchable files again), so any host can rebuild the exact folder
  (``checkout``) to add or remove documents without re-encoding, or move an index back to disk.
  This keeps about twice the index's size in the database; the path forward is in the README.

``publish`` writes all of it into a fresh schema and switches the pointer (``pg_versions``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import IndexCorrupted
from ragengine.index.bm25 import BM25Index
from ragengine.index.chunk_store import CHUNKS
from ragengine.index.dense import DenseIndex
from ragengine.index.manifest import MANIFEST, Manifest
from ragengine.index.pg_vectors import literal
from ragengine.index.pg_versions import Current, new_schema, quoted, switch, writer
from ragengine.index.publish import failpoint
from ragengine.paths import sha256_file

log = logging.getLogger(__name__)
PART = 32 << 20
SEARCHABLE = (CHUNKS, "vectors.npy", "dense.faiss")
"""Files the query side reads from the tables, not from ``files`` (with everything under ``bm25/``)."""


def _postings(folder: Path) -> Iterator[tuple[str, int, float]]:
    """(term, row, BM25 score) of every posting of the local bm25s index."""
    r = BM25Index.load(folder).retriever
    data, indices, indptr = (np.asarray(r.scores[k]) for k in ("data", "indices", "indptr"))
    for term, t in r.vocab_dict.items():
        if t + 1 >= len(indptr):  # bm25s's placeholder token (no postings)
            continue
        lo, hi = int(indptr[t]), int(indptr[t + 1])
        for row, s in zip(indices[lo:hi].tolist(), data[lo:hi].tolist(), strict=True):
            if s > 0:
                yield str(term), int(row), float(s)


def create_tables(conn: Any, schema: str, dim: int) -> None:
    s = quoted(schema)
    conn.execute(f"CREATE SCHEMA {s}")
    conn.execute(
        f"CREATE TABLE {s}.chunks (row integer PRIMARY KEY, chunk_id text NOT NULL UNIQUE, doc_id text NOT NULL, "
        f"text text NOT NULL, data text NOT NULL, embedding vector({int(dim)}) NOT NULL, "
        "tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED)"
    )
    conn.execute(f"CREATE TABLE {s}.postings (term text NOT NULL, row integer NOT NULL, score real NOT NULL)")
    conn.execute(
        f"CREATE TABLE {s}.files (name text NOT NULL, part integer NOT NULL, data bytea NOT NULL, "
        "PRIMARY KEY (name, part))"
    )


def _copy_rows(conn: Any, schema: str, folder: Path, vectors: np.ndarray, manifest: Manifest) -> int:
    """COPY the chunks, postings and files; the stored manifest carries the index's name in the database."""
    s = quoted(schema)
    manifest_blob = json.dumps(asdict(manifest), indent=2, sort_keys=True).encode()
    n = 0
    with conn.cursor() as cur:
        copy = f"COPY {s}.chunks (row, chunk_id, doc_id, text, data, embedding) FROM STDIN"
        with cur.copy(copy) as cp, (folder / CHUNKS).open(encoding="utf-8") as f:
            for row, line in enumerate(f):
                c = json.loads(line)
                text = str(c["text"]).replace("\x00", " ")
                cp.write_row((row, c["chunk_id"], c["doc_id"], text, line.rstrip("\n"), literal(vectors[row])))
                n += 1
        with cur.copy(f"COPY {s}.postings (term, row, score) FROM STDIN") as cp:
            for posting in _postings(folder):
                cp.write_row(posting)
        with cur.copy(f"COPY {s}.files (name, part, data) FROM STDIN") as cp:
            for p in sorted(folder.rglob("*")):
                rel = p.relative_to(folder).as_posix()
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts):
                    blob = manifest_blob if rel == MANIFEST else p.read_bytes()
                    for i in range(max(1, -(-len(blob) // PART))):
                        cp.write_row((rel, i, blob[i * PART : (i + 1) * PART]))
    return n


def _build_indexes(conn: Any, schema: str, m: int, ef_construction: int) -> None:
    s = quoted(schema)
    conn.execute("SET maintenance_work_mem = '512MB'")
    conn.execute(
        f"CREATE INDEX ON {s}.chunks USING hnsw (embedding vector_cosine_ops) "
        f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
    )
    conn.execute(f"CREATE INDEX ON {s}.chunks USING gin (tsv)")
    conn.execute(f"CREATE INDEX ON {s}.postings (term) INCLUDE (row, score)")
    conn.execute(f"CREATE INDEX ON {s}.chunks (doc_id)")
    for t in ("chunks", "postings", "files"):
        conn.execute(f"ANALYZE {s}.{t}")


def publish(folder: Path, url: str, name: str, *, m: int = 16, ef_construction: int = 200, conn: Any = None) -> Current:
    """Copy the index folder into a new version schema and make it ``name``'s current version.

    The folder's checksums are verified first. ``conn`` is a writer connection already holding
    ``name``'s lock (``pg_versions.writer``); without one, this takes the lock itself.
    """
    if conn is None:
        with writer(url, name) as c:
            return publish(folder, url, name, m=m, ef_construction=ef_construction, conn=c)
    manifest = Manifest.read(folder)
    manifest.verify_files(folder)
    manifest.name = name
    vectors = DenseIndex.load(folder, manifest.dense_kind).all_vectors()
    schema = new_schema(name, manifest.version)
    t0 = time.perf_counter()
    create_tables(conn, schema, manifest.dim)
    n = _copy_rows(conn, schema, folder, vectors, manifest)
    failpoint("pg:after-copy")
    _build_indexes(conn, schema, m, ef_construction)
    failpoint("pg:before-switch")
    switch(conn, name, schema, manifest)
    log.info("published %s (%d chunks) as %s in %.1f s", name, n, schema, time.perf_counter() - t0)
    return Current(name, schema, manifest.version, manifest)


def read_file(conn: Any, schema: str, name: str) -> bytes:
    rows = conn.execute(f"SELECT data FROM {quoted(schema)}.files WHERE name = %s ORDER BY part", (name,)).fetchall()
    if not rows:
        raise IndexCorrupted(f"version {schema} has no file {name!r}; rebuild the index")
    return b"".join(bytes(r[0]) for r in rows)


def checkout(conn: Any, current: Current, dest: Path, *, full: bool) -> Path:
    """Write the version's files into ``dest`` and verify them against its manifest.

    ``full=False`` writes only what the query side loads from files (manifest, term weights,
    clusters, document hashes); ``full=True`` writes the whole local folder, loadable on its own.
    """
    dest.mkdir(parents=True, exist_ok=True)
    names = [
        str(r[0])
        for r in conn.execute(f"SELECT DISTINCT name FROM {quoted(current.schema)}.files ORDER BY name").fetchall()
    ]
    for rel in names:
        if not full and (rel in SEARCHABLE or rel.startswith("bm25/")):
            continue
        if rel == MANIFEST:
            continue
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(read_file(conn, current.schema, rel))
    (dest / MANIFEST).write_bytes(read_file(conn, current.schema, MANIFEST))
    manifest = Manifest.read(dest)
    for rel, digest in manifest.files.items():
        if not full and (rel in SEARCHABLE or rel.startswith("bm25/")):
            continue
        if not (dest / rel).is_file() or sha256_file(dest / rel) != digest:
            raise IndexCorrupted(f"version {current.schema}: {rel} does not match its checksum; rebuild the index")
    return dest
