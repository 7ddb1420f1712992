"""Where indexes, benchmark data, caches and reports live, resolved in one place.

Each root is an environment variable with a default relative to the working directory or the
checkout, read when asked (so a test or a console can point it elsewhere):

- ``RAGENGINE_INDEXES``: built indexes (default ``./indexes``);
- ``RAGENGINE_DATA``: benchmark data (default ``../shared/data`` beside the checkout);
- ``RAGENGINE_CACHE``: recomputable caches such as token states (default ``/tmp/ragengine-cache``);
- ``RAGENGINE_RESULTS``: committed reports (default ``eval/results`` in the checkout).

>>> index_root("/tmp/x").as_posix()
'/tmp/x'
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
ANSWER_CACHE = ".answer-cache"


def index_root(root: str | Path | None = None) -> Path:
    """``root`` if given, else ``$RAGENGINE_INDEXES`` or ``./indexes``."""
    return Path(root) if root is not None else Path(os.environ.get("RAGENGINE_INDEXES", "indexes"))


def data_root() -> Path:
    """``$RAGENGINE_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("RAGENGINE_DATA")
    return Path(env) if env else CHECKOUT.parent / "shared" / "data"


def cache_root() -> Path:
    """``$RAGENGINE_CACHE`` or ``/tmp/ragengine-cache``."""
    return Path(os.environ.get("RAGENGINE_CACHE", "/tmp/ragengine-cache"))


def results_root() -> Path:
    """``$RAGENGINE_RESULTS`` or ``eval/results`` in the checkout."""
    env = os.environ.get("RAGENGINE_RESULTS")
    return Path(env) if env else CHECKOUT / "eval" / "results"


def answer_cache_dir(index_folder: Path) -> Path:
    """The answer cache of an index: beside it, outside its checksummed folder."""
    return index_folder.parent / ANSWER_CACHE / index_folder.name


def sha256_file(path: str | Path) -> str:
    """The sha256 hex digest of a file, read in 4 MB blocks (index checksums, weights, readers)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def masked_url(url: str) -> str:
    """A database URL with any password replaced by ``***`` (for messages, logs and the console)."""
    return re.sub(r"(postgres(?:ql)?://[^:/@]*:)[^@]*@", r"\1***@", url)
