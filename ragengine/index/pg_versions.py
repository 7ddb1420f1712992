"""Index versions in PostgreSQL: one schema per version, and a pointer table switched in one transaction.

An index ``NAME`` in a database is the row ``ragengine_indexes(name)``: the schema of its current
version, the previous one, and its manifest (JSON). A build writes a complete new schema
``rg_<hash of name>_<version>_<random>`` (tables ``chunks``, ``postings``, ``files``; see
``pg_publish``) and then updates that row in one transaction: a reader that reads the pointer
sees the old version or the new one, never half of one. The previous version's schema is kept
(a reader that opened it moments ago keeps working) and the one before it is dropped; a build
that died leaves a schema no pointer names, which the next writer of that index drops.
Writers of one index are serialised by a PostgreSQL advisory lock, so they work across hosts.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ragengine.errors import IndexNotFound
from ragengine.index.manifest import Manifest
from ragengine.index.pg_vectors import connect, masked

POINTER = "ragengine_indexes"
_DDL = f"""CREATE TABLE IF NOT EXISTS {POINTER} (
    name text PRIMARY KEY,
    schema text NOT NULL,
    previous text,
    version text NOT NULL,
    manifest jsonb NOT NULL,
    published timestamptz NOT NULL DEFAULT now())"""
_IDENT = re.compile(r"rg_[0-9a-f]{10}_[0-9a-f]{1,16}_[0-9a-f]{6}")


def prefix(name: str) -> str:
    """The schema-name prefix of every version of index ``name`` (names may hold any character)."""
    return "rg_" + hashlib.sha256(name.encode()).hexdigest()[:10] + "_"


def new_schema(name: str, version: str) -> str:
    return prefix(name) + version[:16] + "_" + secrets.token_hex(3)


def quoted(schema: str) -> str:
    """``schema`` checked against the pattern this module writes (it is spliced into SQL)."""
    if not _IDENT.fullmatch(schema):
        raise ValueError(f"not a ragengine version schema: {schema!r}")
    return '"' + schema + '"'


@dataclass(frozen=True)
class Current:
    name: str
    schema: str
    version: str
    manifest: Manifest


def ensure_pointer(conn: Any) -> None:
    """Create the pointer table once (a transaction-level advisory lock keeps two creators apart)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('ragengine:pointer'))")
        conn.execute(_DDL)


def current(conn: Any, name: str, url: str = "") -> Current:
    """The version readers of ``name`` see now; IndexNotFound lists the indexes the database holds."""
    exists = conn.execute("SELECT to_regclass(%s)", (POINTER,)).fetchone()[0]
    row = None
    if exists is not None:
        row = conn.execute(f"SELECT schema, version, manifest FROM {POINTER} WHERE name = %s", (name,)).fetchone()
    if row is None:
        have = list_names(conn) if exists is not None else []
        listing = ", ".join(have) if have else "none"
        raise IndexNotFound(
            f"no index named {name!r} in {masked(url) or 'this database'} (indexes there: {listing}); build it "
            f"with `ragengine index PATH --name {name} --store URL` or move a local one with `ragengine push {name}`"
        )
    schema, version, manifest = row
    data = manifest if isinstance(manifest, dict) else json.loads(manifest)
    return Current(name, str(schema), str(version), Manifest(**data))


def list_names(conn: Any) -> list[str]:
    if conn.execute("SELECT to_regclass(%s)", (POINTER,)).fetchone()[0] is None:
        return []
    return [str(r[0]) for r in conn.execute(f"SELECT name FROM {POINTER} ORDER BY name").fetchall()]


def schema_of(conn: Any, name: str) -> str | None:
    """The schema of ``name``'s current version (one indexed lookup: readers poll it), or None."""
    row = conn.execute(f"SELECT schema FROM {POINTER} WHERE name = %s", (name,)).fetchone()
    return None if row is None else str(row[0])


@contextmanager
def writer(url: str, name: str) -> Iterator[Any]:
    """A connection holding the advisory writer lock of ``name``, with the pointer table ensured and
    any schema a dead writer left dropped. Released when the block ends (or the connection drops)."""
    conn = connect(url, autocommit=True)
    try:
        ensure_pointer(conn)
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", ("ragengine:" + name,))
        try:
            drop_orphans(conn, name)
            yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", ("ragengine:" + name,))
    finally:
        conn.close()


def _schemas(conn: Any, name: str) -> list[str]:
    rows = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY nspname", (prefix(name),)
    ).fetchall()
    return [str(r[0]) for r in rows if _IDENT.fullmatch(str(r[0]))]


def drop_orphans(conn: Any, name: str) -> list[str]:
    """Drop the version schemas of ``name`` that neither the current nor the previous pointer names."""
    row = conn.execute(f"SELECT schema, previous FROM {POINTER} WHERE name = %s", (name,)).fetchone()
    keep = {s for s in (row or ()) if s}
    gone = [s for s in _schemas(conn, name) if s not in keep]
    for s in gone:
        conn.execute(f"DROP SCHEMA IF EXISTS {quoted(s)} CASCADE")
    return gone


def switch(conn: Any, name: str, schema: str, manifest: Manifest) -> str | None:
    """Point ``name`` at ``schema`` in one transaction; drop the version before the previous one.

    Returns the schema that was current (now the previous one), or None for a new index.
    """
    from dataclasses import asdict

    body = json.dumps(asdict(manifest), sort_keys=True)
    with conn.transaction():
        old = conn.execute(f"SELECT schema, previous FROM {POINTER} WHERE name = %s FOR UPDATE", (name,)).fetchone()
        conn.execute(
            f"INSERT INTO {POINTER} (name, schema, previous, version, manifest) VALUES (%s, %s, %s, %s, %s::jsonb) "
            "ON CONFLICT (name) DO UPDATE SET schema = EXCLUDED.schema, previous = EXCLUDED.previous, "
            "version = EXCLUDED.version, manifest = EXCLUDED.manifest, published = now()",
            (name, schema, old[0] if old else None, manifest.version, body),
        )
    if old and old[1]:
        conn.execute(f"DROP SCHEMA IF EXISTS {quoted(old[1])} CASCADE")
    return str(old[0]) if old else None


def delete(conn: Any, name: str) -> bool:
    """Remove index ``name`` and all its versions; False when there was none."""
    with conn.transaction():
        row = conn.execute(f"DELETE FROM {POINTER} WHERE name = %s RETURNING schema", (name,)).fetchone()
    for s in _schemas(conn, name):
        conn.execute(f"DROP SCHEMA IF EXISTS {quoted(s)} CASCADE")
    return row is not None
