"""A throwaway PostgreSQL + pgvector server for the module's tests (skips with the reason when none can start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragengine.index.pg_server import LocalServer, available, start_server


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    why = available()
    if why:
        pytest.skip(f"no PostgreSQL server can start here: {why}")
    s = start_server()
    try:
        yield s
    finally:
        s.stop()
