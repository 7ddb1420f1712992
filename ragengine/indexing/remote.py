"""Builds and updates of an index that lives in a database store (PostgreSQL + pgvector).

Every change runs the local build machinery in a temporary folder and publishes the result as a
new version (``ragengine.index.pg_publish``), under the index's writer lock in the database:

- a build first checks out the current version (when there is one and ``lend``), so documents
  whose content is unchanged lend their vectors and term weights and are not re-encoded;
- an add or remove checks out the current version, applies the change there (only new and
  changed documents are encoded) and publishes it.

Cost beyond the encoder: one copy of the current version out of the database and one in; readers
keep reading the old version until the pointer switches in one transaction.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ragengine.errors import IndexNotFound
from ragengine.index.manifest import Manifest
from ragengine.index.pg_publish import checkout, publish
from ragengine.index.pg_versions import current, writer
from ragengine.index.store import check_name

T = TypeVar("T")


def in_store(url: str, name: str, change: Callable[[Path], T], *, lend: bool = True, need: bool = False) -> T:
    """Run ``change(root)`` on a temp ``root`` holding ``root/name`` (the current version, checked
    out when ``lend``) and publish ``root/name`` as ``name``'s new version; returns ``change``'s value.

    ``need``: the index must exist already (an update); IndexNotFound otherwise.
    """
    check_name(name)
    with writer(url, name) as conn, tempfile.TemporaryDirectory(prefix="ragengine-store-") as tmp:
        root = Path(tmp)
        if lend or need:
            try:
                checkout(conn, current(conn, name, url), root / name, full=True)
            except IndexNotFound:
                if need:
                    raise
        out = change(root)
        publish(root / name, url, name, conn=conn)
        return out


def push(folder: Path, url: str, name: str | None = None) -> Manifest:
    """Copy a local index folder into the store as ``name`` (default: its own name); returns its manifest."""
    manifest = Manifest.read(folder)
    target = check_name(name or manifest.name)
    return publish(folder, url, target).manifest
