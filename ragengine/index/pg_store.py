"""The PostgreSQL + pgvector store: the query side of an index whose versions live in a database.

``PgSource(url, name)`` finds the current version (``pg_versions``) and writes the few files the
query side loads from files (manifest, term weights, clusters) into a per-version cache folder;
``open()`` returns a ``PgIndex``, a ``ChunkStore`` whose searches run in the server:

- dense: ``ORDER BY embedding <=> q LIMIT k`` through the HNSW index (``ef_search``, raised to
  ``k`` when ``k`` is larger, since pgvector returns at most ``ef_search`` rows), or exact
  (``exact=True``: a sequential scan, identical to FAISS flat);
- lexical ``bm25`` (default): the question is tokenized as bm25s does and its terms' stored BM25
  postings are summed in SQL, ranking as the local store does; ``tsvector``: PostgreSQL's own
  full-text search (``to_tsvector('english')``, an OR of the question's lexemes, ``ts_rank_cd``),
  which is not BM25 (eval/results/scaleout.md measures the difference).

The chunks and their float16 vectors are also read into the process on open, as the local store
does (the re-ranker, clusters and selectors need them per candidate): an app server holds about
1 KB per chunk. Readers follow new versions: ``PgSource.changed()`` is one indexed lookup.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import IndexChanged, InvalidInput
from ragengine.index.bm25 import _bm25s, _stemmer
from ragengine.index.manifest import Manifest
from ragengine.index.pg_publish import checkout, read_file
from ragengine.index.pg_vectors import StoreUnavailable, connect, literal, masked
from ragengine.index.pg_versions import Current, current, list_names, quoted, schema_of
from ragengine.paths import cache_root
from ragengine.types import Chunk

LEXICAL = ("bm25", "tsvector")


def _num(x: Any) -> float | None:
    return None if x is None else float(x)


class PgIndex:
    """A ``ChunkStore`` over one version schema. Thread-safe: one connection, used under a lock."""

    def __init__(
        self,
        url: str,
        cur: Current,
        folder: Path,
        *,
        lexical: str = "bm25",
        ef_search: int = 100,
        exact: bool = False,
        fusion: str = "client",
    ) -> None:
        if lexical not in LEXICAL:
            raise InvalidInput(f"unknown lexical search {lexical!r}; choose one of {', '.join(LEXICAL)}")
        if isinstance(ef_search, bool) or not isinstance(ef_search, int) or ef_search <= 0:
            raise InvalidInput(f"ef_search must be a positive int, got {ef_search!r}")
        self.url, self.current, self.folder = url, cur, folder
        self.manifest: Manifest = cur.manifest
        if fusion not in ("client", "sql"):
            raise InvalidInput(f"fusion must be 'client' (RRF in the retriever) or 'sql' (one query), got {fusion!r}")
        self.lexical, self.ef_search, self.exact, self.fusion = lexical, ef_search, exact, fusion
        self.schema = quoted(cur.schema)
        self._lock = threading.Lock()
        self.conn = connect(url, autocommit=True)
        rows = self.conn.execute(f"SELECT data FROM {self.schema}.chunks ORDER BY row").fetchall()
        self.chunks: list[Chunk] = [Chunk(**json.loads(r[0])) for r in rows]
        self.vectors: np.ndarray = np.load(io.BytesIO(read_file(self.conn, cur.schema, "vectors.npy")))
        self.stemmer: Any = _stemmer()

    @contextmanager
    def _reading(self, depth: int = 0) -> Iterator[Any]:
        """The connection, under the lock; with ``depth``, inside a transaction whose dense-search
        settings (exact scan, or ``hnsw.ef_search`` raised to ``depth``) hold for it alone. A version
        dropped under this reader is ``IndexChanged``."""
        import psycopg

        try:
            with self._lock:
                if not depth:
                    yield self.conn
                    return
                with self.conn.transaction():
                    if self.exact:
                        self.conn.execute("SET LOCAL enable_indexscan = off")
                    else:
                        self.conn.execute(f"SET LOCAL hnsw.ef_search = {max(int(self.ef_search), depth)}")
                    yield self.conn
        except psycopg.errors.UndefinedTable as e:
            raise IndexChanged(
                f"version {self.current.schema} of index {self.current.name!r} was removed: reopen it"
            ) from e

    def dense_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(queries, dtype=np.float32)
        k = min(k, len(self.chunks))
        scores = np.zeros((len(q), k), np.float32)
        rows = np.full((len(q), k), -1, np.int64)
        sql = (
            f"SELECT row, embedding <=> %s::vector AS d FROM {self.schema}.chunks "
            "ORDER BY embedding <=> %s::vector LIMIT %s"
        )
        with self._reading(depth=k) as conn:
            for i, v in enumerate(q):
                lit = literal(v)
                for j, (r, d) in enumerate(conn.execute(sql, (lit, lit, k)).fetchall()):
                    rows[i, j], scores[i, j] = r, 1.0 - float(d)
        return scores, rows

    def _terms(self, query: str) -> Counter[str]:
        toks = _bm25s().tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False, return_ids=False)
        return Counter(str(t) for t in toks[0])

    def lexical_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.lexical == "tsvector":
            sql = (
                f"WITH q AS (SELECT string_agg(quote_literal(l), ' | ')::tsquery AS q "
                f"FROM unnest(tsvector_to_array(to_tsvector('english', %s))) AS l) "
                f"SELECT c.row, ts_rank_cd(c.tsv, q.q) AS s FROM {self.schema}.chunks c, q "
                "WHERE q.q IS NOT NULL AND c.tsv @@ q.q ORDER BY s DESC, c.row LIMIT %s"
            )
            args: tuple[Any, ...] = (query.replace("\x00", " "), k)
        else:
            terms = self._terms(query)
            if not terms:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            sql = (
                f"SELECT p.row, sum(p.score * q.w) AS s FROM {self.schema}.postings p "
                "JOIN unnest(%s::text[], %s::real[]) AS q(term, w) ON p.term = q.term "
                "GROUP BY p.row ORDER BY s DESC, p.row LIMIT %s"
            )
            args = (list(terms), [float(w) for w in terms.values()], k)
        with self._reading() as conn:
            got = conn.execute(sql, args).fetchall()
        rows = np.asarray([r for r, s in got if s > 0], dtype=np.int64)
        return rows, np.asarray([s for _, s in got if s > 0], dtype=np.float32)

    def fused_search(
        self, query: str, qvec: np.ndarray, depth: int, k: int, rrf_k: int
    ) -> list[tuple[int, float, float | None, float | None]] | None:
        """With ``fusion="sql"``: RRF of the BM25 and dense top-``depth`` lists in one SQL statement,
        as (row, rrf, bm25, cosine), best first, ties broken as ``retrieve.fusion.rrf`` does (first
        seen, BM25 list first); None otherwise (the retriever then fuses the two lists itself)."""
        if self.fusion != "sql" or self.lexical != "bm25":
            return None
        terms = self._terms(query)
        lit = literal(np.asarray(qvec, np.float32))
        s = self.schema
        sql = f"""
            WITH l AS (
                SELECT row, sc, row_number() OVER (ORDER BY sc DESC, row) AS r FROM (
                    SELECT p.row, sum(p.score * q.w) AS sc FROM {s}.postings p
                    JOIN unnest(%(terms)s::text[], %(w)s::real[]) AS q(term, w) ON p.term = q.term
                    GROUP BY p.row ORDER BY sc DESC, p.row LIMIT %(depth)s) x WHERE sc > 0),
            d AS (
                SELECT row, 1 - dist AS sim, row_number() OVER (ORDER BY dist) AS r FROM (
                    SELECT row, embedding <=> %(q)s::vector AS dist FROM {s}.chunks
                    ORDER BY embedding <=> %(q)s::vector LIMIT %(depth)s) y)
            SELECT coalesce(l.row, d.row), coalesce(1.0 / (%(k)s + l.r), 0) + coalesce(1.0 / (%(k)s + d.r), 0) AS f,
                   l.sc, d.sim
            FROM l FULL OUTER JOIN d ON l.row = d.row
            ORDER BY f DESC, (l.r IS NULL), coalesce(l.r, d.r) LIMIT %(limit)s"""
        args = {
            "terms": list(terms),
            "w": [float(v) for v in terms.values()],
            "q": lit,
            "depth": depth,
            "k": rrf_k,
            "limit": k,
        }
        with self._reading(depth=depth) as conn:
            got = conn.execute(sql, args).fetchall()
        return [(int(r), float(f), _num(b), _num(d)) for r, f, b, d in got]

    def close(self) -> None:
        self.conn.close()


_OPTION_TYPES: dict[str, Any] = {
    "ef_search": int,
    "lexical": str,
    "fusion": str,
    "exact": lambda v: v in ("1", "true", "on"),
    "poll_s": float,
}


def split_options(url: str) -> tuple[str, dict[str, Any]]:
    """ragengine's own settings carried in the URL's query (``?ef_search=200&lexical=tsvector``), taken
    out so that libpq sees only its own parameters (``sslmode``, ``application_name``, ...)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    if not isinstance(url, str) or "?" not in url:
        return url, {}
    parts = urlsplit(url)
    mine, rest = {}, []
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k in _OPTION_TYPES:
            try:
                mine[k] = _OPTION_TYPES[k](v)
            except ValueError as e:
                raise InvalidInput(f"store URL option {k}={v!r} is not valid ({e})") from e
        else:
            rest.append((k, v))
    return urlunsplit(parts._replace(query=urlencode(rest))), mine


class PgSource:
    """Index ``name`` in the database at ``url``: its current version, cache folder and ``PgIndex``.

    ``options``: ``lexical`` ("bm25" or "tsvector"), ``ef_search`` (HNSW search breadth), ``exact``
    (exact dense search), ``fusion`` ("client" or "sql"), ``poll_s`` (how often a reader checks for a
    new version; 0 = every ask).
    """

    def __init__(self, url: str, name: str, *, poll_s: float = 1.0, **options: Any) -> None:
        url, in_url = split_options(url)
        options = {**in_url, **options}
        poll_s = float(options.pop("poll_s", poll_s))
        unknown = sorted(set(options) - {"lexical", "ef_search", "exact", "fusion"})
        if unknown:
            raise InvalidInput(
                f"unknown store option {unknown[0]!r}; options: lexical, ef_search, exact, fusion, poll_s"
            )
        self.url, self.name, self.poll_s, self.options = url, name, poll_s, options
        self._conn = connect(url, autocommit=True)
        self.current = current(self._conn, name, url)
        self._checked = 0.0

    @property
    def label(self) -> str:
        return f"{masked(self.url)}#{self.name}"

    def folder(self) -> Path:
        """The cache folder of the current version, written (and verified) on first use."""
        import hashlib

        key = hashlib.sha256(self.url.split("?")[0].encode()).hexdigest()[:12]
        dest = cache_root() / "pg" / key / self.current.schema
        if not (dest / "manifest.json").is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
            try:
                checkout(self._conn, self.current, tmp, full=False)
                tmp.rename(dest)
            except OSError:
                if not (dest / "manifest.json").is_file():  # another reader may have written it first
                    raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def open(self) -> PgIndex:
        return PgIndex(self.url, self.current, self.folder(), **self.options)

    def changed(self, now: float, force: bool = False) -> bool:
        """Whether another version was published (checked at most every ``poll_s`` seconds, unless
        ``force``): by schema, so a republish of the same content moves readers on too."""
        if not force and now - self._checked < self.poll_s:
            return False
        self._checked = now
        import psycopg

        try:
            schema = schema_of(self._conn, self.name)
        except psycopg.OperationalError:  # a dropped connection: reconnect once (a typed error if that fails)
            self._conn = connect(self.url, autocommit=True)
            schema = schema_of(self._conn, self.name)
        if schema is None:
            raise StoreUnavailable(f"index {self.name!r} was deleted from {masked(self.url)}")
        if schema == self.current.schema:
            return False
        self.current = current(self._conn, self.name, self.url)
        return True


def store_names(url: str) -> list[str]:
    """The names of the indexes a database holds (none when it holds no ragengine index yet)."""
    with connect(split_options(url)[0], autocommit=True) as conn:
        return list_names(conn)
