"""Publish a new version of an index folder atomically, and repair what a killed writer left.

Every change to an index (a build, a rebuild, new clusters) writes a complete new folder
``.NAME.tmp-XXXX`` beside ``NAME`` and then swaps the two in one step. On Linux the swap is
``renameat2(RENAME_EXCHANGE)``: readers see the old folder or the new one, never neither, and
a SIGKILL at any point leaves a loadable index. Where the exchange is not available the swap is
two renames (``NAME`` -> ``.NAME.old-XXXX``, then the new folder -> ``NAME``); a kill between
them is repaired by ``recover``, which renames the old folder back. Writers of one index hold a
file lock (``filelock``: the same lock works across processes and threads), so a cleanup never
deletes another writer's folder in progress; the lock files live under the cache root
(``$RAGENGINE_CACHE/locks``), keyed by the index's resolved path, so the index root holds
indexes only. Cost: a few renames and, for ``stage_copy``, one hard link per file (copies where
links fail).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import logging
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ragengine.errors import IndexWriteFailed
from ragengine.index.manifest import MANIFEST
from ragengine.paths import cache_root

log = logging.getLogger(__name__)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
LOCK_TIMEOUT_S = 600.0


def failpoint(step: str) -> None:
    """Kill this process with SIGKILL at ``step`` when ``RAGENGINE_FAILPOINT`` names it (or pause
    there for a minute when it says ``step:pause``, for a test to send a signal of its own).

    The crash tests set the variable in a subprocess to stop a real build at each of its steps;
    unset (always, outside those tests) this is one dictionary lookup.
    """
    wanted = os.environ.get("RAGENGINE_FAILPOINT")
    if wanted == step:
        os.kill(os.getpid(), signal.SIGKILL)
    elif wanted == f"{step}:pause":
        time.sleep(60)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _lock_path(base: Path, name: str) -> str:
    key = hashlib.sha256(str((base / name).resolve()).encode()).hexdigest()[:24]
    folder = cache_root() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{name}-{key}.lock")


def new_temp(base: Path, name: str) -> Path:
    """A fresh hidden folder beside ``base/name`` for a version being written."""
    tmp = base / f".{name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


@contextmanager
def writer_lock(base: Path, name: str, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the one-writer lock of index ``name`` (waits up to ``timeout`` s for another writer)."""
    lock = FileLock(_lock_path(base, name), timeout=timeout)
    try:
        with lock:
            yield
    except Timeout as e:
        raise IndexWriteFailed(f"index {name!r} is being written by another process (lock {lock.lock_file})") from e


def publish(tmp: Path, final: Path) -> None:
    """Make the complete folder ``tmp`` the index at ``final``; the old version is removed after."""
    failpoint("publish")
    if not final.exists():
        os.rename(tmp, final)
        return
    if _exchange(tmp, final):
        failpoint("exchanged")
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old version
        return
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(final, old)
    failpoint("between-renames")
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def stage_copy(folder: Path, tmp: Path, skip: set[str]) -> None:
    """Fill ``tmp`` with ``folder``'s files (hard links: index files are never edited in place).

    Top-level entries named in ``skip``, the manifest and hidden leftovers are not copied.
    """
    for src in sorted(folder.rglob("*")):
        rel = src.relative_to(folder)
        if rel.parts[0] in skip or rel.parts[0] == MANIFEST or any(p.startswith(".") for p in rel.parts):
            continue
        dst = tmp / rel
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def _complete(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def _restore(base: Path, name: str) -> bool:
    final = base / name
    if final.exists() or not base.is_dir():
        return False
    olds = sorted((p for p in base.glob(f".{name}.old-*") if _complete(p)), key=lambda p: p.stat().st_mtime)
    if not olds:
        return False
    try:
        os.rename(olds[-1], final)
    except OSError as e:
        log.warning("could not restore index %r from %s: %s", name, olds[-1], e)
        return False
    log.warning("index %r: restored the previous version (a writer was interrupted mid-swap)", name)
    return True


def recover(base: Path, name: str) -> bool:
    """Put back the old version if a writer was killed between its two renames; True if it did.

    Only acts when ``base/name`` is missing and a complete ``.name.old-*`` exists, and only when no
    writer holds the lock (a live writer finishes its own swap).
    """
    if (base / name).exists() or not any(base.glob(f".{name}.old-*")):
        return False
    try:
        with FileLock(_lock_path(base, name), timeout=0):
            return _restore(base, name)
    except (Timeout, OSError):
        return False


def clean_leftovers(base: Path, name: str) -> list[str]:
    """Remove what killed writers of ``name`` left (call with the writer lock held); returns the names.

    Temp and old folders beside the index go, and so do temp folders an older version of this
    code wrote inside it (``NAME/.clusters.tmp-*``).
    """
    _restore(base, name)
    gone = [*base.glob(f".{name}.tmp-*"), *base.glob(f".{name}.old-*")]
    if (base / name).is_dir():
        gone += [p for p in (base / name).iterdir() if p.name.startswith(".") and ".tmp-" in p.name]
    for p in gone:
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    if gone:
        log.info("index %r: removed %d leftovers of interrupted writes", name, len(gone))
    return [p.name for p in gone]
