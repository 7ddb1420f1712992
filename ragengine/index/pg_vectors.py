"""Dense top-k in PostgreSQL with pgvector: a table of (row, embedding), an HNSW index, exact or approximate search.

``PgVectors(url, table)`` connects from a ``postgresql://`` URL (user, host, port, database; the
rest from the ``PG*`` environment variables as libpq reads them). ``load(vectors)`` writes the
rows with ``COPY`` and builds an HNSW index with cosine ops (``m``, ``ef_construction``);
``search(queries, k)`` returns (scores, rows) like ``DenseIndex.search``, approximate through the
index with ``hnsw.ef_search`` = ``ef_search``, or exact (a sequential scan) with ``exact=True``.
A bad URL or an unreachable server is a one-line ``StoreUnavailable`` with the password masked.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ragengine.errors import InvalidInput, RagEngineError
from ragengine.paths import masked_url

_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class StoreUnavailable(RagEngineError, ConnectionError):
    """The PostgreSQL server cannot be reached or refused the connection."""


masked = masked_url


def connect(url: str, **kwargs: Any) -> Any:
    if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
        raise InvalidInput(f"a store URL must look like postgresql://USER@HOST:PORT/DB, got {masked(str(url))!r}")
    try:
        import psycopg
    except ImportError as e:
        raise StoreUnavailable("the PostgreSQL store needs psycopg: pip install 'ragengine[postgres]'") from e
    try:
        return psycopg.connect(url, connect_timeout=10, **kwargs)
    except psycopg.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StoreUnavailable(f"cannot connect to {masked(url)}: {first}") from e


def literal(v: np.ndarray) -> str:
    """A vector as pgvector's text form, with the 9 significant digits that round-trip a float32 exactly."""
    return "[" + ",".join(f"{x:.9g}" for x in v) + "]"


class PgVectors:
    def __init__(self, url: str, table: str = "ragengine_vectors", *, ef_search: int = 100) -> None:
        if not _TABLE.fullmatch(table):
            raise InvalidInput(f"table name {table!r} must be lowercase letters, digits or '_'")
        self.url, self.table, self.ef_search = url, table, ef_search
        self.conn = connect(url, autocommit=True)
        self.dim = 0

    def load(self, vectors: np.ndarray, *, m: int = 16, ef_construction: int = 200, kind: str = "vector") -> float:
        """Replace the table with ``vectors`` (row i = vector i) and build the HNSW index; returns build seconds."""
        import time

        x = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dim = int(x.shape[1])
        t = self.table
        c = self.conn
        c.execute(f"DROP TABLE IF EXISTS {t}")
        c.execute(f"CREATE TABLE {t} (row integer PRIMARY KEY, embedding {kind}({self.dim}) NOT NULL)")
        with c.cursor() as cur, cur.copy(f"COPY {t} (row, embedding) FROM STDIN") as cp:
            for i, v in enumerate(x):
                cp.write_row((i, literal(v)))
        t0 = time.perf_counter()
        ops = "halfvec_cosine_ops" if kind == "halfvec" else "vector_cosine_ops"
        c.execute("SET maintenance_work_mem = '512MB'")
        c.execute(
            f"CREATE INDEX ON {t} USING hnsw (embedding {ops}) "
            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
        )
        c.execute(f"ANALYZE {t}")
        self.kind = kind
        return time.perf_counter() - t0

    def search(
        self, queries: np.ndarray, k: int, *, exact: bool = False, conn: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarity (as inner product of unit vectors) and rows of the ``k`` nearest, per query."""
        c = conn or self.conn
        kind = getattr(self, "kind", "vector")
        scores = np.zeros((len(queries), k), np.float32)
        rows = np.full((len(queries), k), -1, np.int64)
        with c.cursor() as cur:
            if exact:
                cur.execute("SET enable_indexscan = off")
            else:
                cur.execute("SET enable_indexscan = on")
                cur.execute(f"SET hnsw.ef_search = {int(self.ef_search)}")
            dist = f"embedding <=> %s::{kind}"
            sql = f"SELECT row, {dist} AS d FROM {self.table} ORDER BY {dist} LIMIT %s"
            for i, q in enumerate(np.asarray(queries, dtype=np.float32)):
                lit = literal(q)
                got = cur.execute(sql, (lit, lit, k)).fetchall()
                for j, (r, d) in enumerate(got):
                    rows[i, j], scores[i, j] = r, 1.0 - float(d)
        return scores, rows

    def close(self) -> None:
        self.conn.close()
