"""Per-chunk term weights as a CSR matrix (rows = chunks, columns = WordPiece ids), numpy only.

Stored as ``terms.npz`` with the keys and layout of ``scipy.sparse.save_npz`` (``format``,
``shape``, ``indptr``, ``indices``, ``data``; no pickle), so scipy can read it, but scipy is not
needed. Values are float16 on disk (a 5,000-abstract corpus: ~0.5M entries, ~2 MB) and float32
in memory. Column indices in each row are sorted and unique.

Two scorers: ``score`` gathers the candidates' rows (cost ~ candidates x their distinct terms);
``score_terms`` (the one the re-ranker uses) binary-searches each query term's column (a CSC copy
built on first use), so its cost is ~ query terms x candidates x log(df), independent of passage length.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ragengine.errors import IndexCorrupted, InvalidInput

TERMS_FILE = "terms.npz"


@dataclass
class TermMatrix:
    indptr: np.ndarray  # int64 (n_rows + 1,)
    indices: np.ndarray  # int32 (nnz,), sorted within each row
    data: np.ndarray  # float32 (nnz,), > 0
    n_cols: int
    _csc: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @classmethod
    def from_triples(cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, n_cols: int) -> TermMatrix:
        """Build from (row, col, value) triples, keeping the max value of repeated (row, col) and dropping <= 0."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        vals = np.asarray(vals, dtype=np.float32)
        keep = vals > 0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        key = rows * n_cols + cols
        order = np.lexsort((-vals, key))  # by key, largest value first within a key
        key, vals = key[order], vals[order]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        key, vals = key[first], vals[first]
        r = key // n_cols
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
        return cls(indptr, (key % n_cols).astype(np.int32), vals.astype(np.float32), n_cols)

    @classmethod
    def vstack(cls, parts: Sequence[TermMatrix]) -> TermMatrix:
        if not parts:
            raise InvalidInput("vstack needs at least one TermMatrix")
        offs = np.cumsum([0] + [p.nnz for p in parts[:-1]])
        indptr = np.concatenate([[0]] + [p.indptr[1:] + o for p, o in zip(parts, offs, strict=True)])
        return cls(
            indptr.astype(np.int64),
            np.concatenate([p.indices for p in parts]),
            np.concatenate([p.data for p in parts]),
            parts[0].n_cols,
        )

    def take(self, rows: Sequence[int] | np.ndarray) -> TermMatrix:
        """The rows ``rows`` of this matrix, in that order (an index update keeps unchanged chunks' rows)."""
        rows = np.asarray(rows, dtype=np.int64)
        lens = self.indptr[rows + 1] - self.indptr[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lens, out=indptr[1:])
        ranges = [np.arange(self.indptr[r], self.indptr[r + 1], dtype=np.int64) for r in rows]
        pick = np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)
        return TermMatrix(indptr, self.indices[pick], self.data[pick], self.n_cols)

    def row(self, r: int) -> dict[int, float]:
        s, e = int(self.indptr[r]), int(self.indptr[r + 1])
        return dict(zip(self.indices[s:e].tolist(), self.data[s:e].tolist(), strict=True))

    def score(self, rows: np.ndarray, query_weights: np.ndarray) -> np.ndarray:
        """``sum_t query_weights[t] * M[row, t]`` for each row: a dense (n_cols,) query vector against sparse rows."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_rows):
            raise InvalidInput(f"row ids must be in [0, {self.n_rows}), got min {rows.min()} max {rows.max()}")
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lens = ends - starts
        total = int(lens.sum())
        if total == 0:
            return np.zeros(len(rows), dtype=np.float32)
        seg = np.repeat(np.arange(len(rows)), lens)
        flat = np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(lens) - lens), lens)
        vals = self.data[flat] * query_weights[self.indices[flat]]
        return np.bincount(seg, weights=vals, minlength=len(rows)).astype(np.float32)

    def _columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The same entries column by column (CSC; rows ascending within a column), built once on first use."""
        if self._csc is None:
            order = np.argsort(self.indices, kind="stable")  # CSR rows ascend, so rows stay sorted per column
            rows = np.repeat(np.arange(self.n_rows, dtype=np.int32), np.diff(self.indptr))
            colptr = np.zeros(self.n_cols + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.indices, minlength=self.n_cols), out=colptr[1:])
            self._csc = (colptr, rows[order], self.data[order])
        return self._csc

    def score_terms(self, rows: np.ndarray, term_ids: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
        """``sum_j counts[j] * M[row, term_ids[j]]`` per row, by binary search in each query term's column.

        Cost grows with the number of query terms times log(document frequency) per candidate, not
        with passage length: ~0.3 ms for 10 query terms and 1,000 candidates.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_rows):
            raise InvalidInput(f"row ids must be in [0, {self.n_rows}), got min {rows.min()} max {rows.max()}")
        colptr, col_rows, col_vals = self._columns()
        out = np.zeros(len(rows), dtype=np.float32)
        cnt = np.ones(len(term_ids), dtype=np.float32) if counts is None else np.asarray(counts, dtype=np.float32)
        for t, c in zip(np.asarray(term_ids, dtype=np.int64).tolist(), cnt.tolist(), strict=True):
            s, e = int(colptr[t]), int(colptr[t + 1])
            if s == e:
                continue
            col = col_rows[s:e]
            pos = np.minimum(np.searchsorted(col, rows), e - s - 1)
            hit = col[pos] == rows
            out[hit] += c * col_vals[s:e][pos[hit]]
        return out

    def save(self, path: Path) -> None:
        with Path(path).open("wb") as f:
            np.savez(
                f,
                format=np.array("csr"),
                shape=np.array([self.n_rows, self.n_cols], dtype=np.int64),
                indptr=self.indptr.astype(np.int64),
                indices=self.indices.astype(np.int32),
                data=self.data.astype(np.float16),
            )

    @classmethod
    def load(cls, path: Path) -> TermMatrix:
        path = Path(path)
        if not path.is_file():
            raise IndexCorrupted(f"{path} is missing; rebuild the index with term weights (`ragengine index`)")
        try:
            with np.load(path, allow_pickle=False) as z:
                fmt, shape = str(z["format"]), z["shape"]
                indptr, indices, data = z["indptr"].astype(np.int64), z["indices"], z["data"].astype(np.float32)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise IndexCorrupted(f"{path} is not a valid term-weight file ({e}); rebuild the index") from e
        n_rows, n_cols = int(shape[0]), int(shape[1])
        if (
            fmt != "csr"
            or len(indptr) != n_rows + 1
            or indptr[0] != 0
            or indptr[-1] != len(indices)
            or len(indices) != len(data)
            or (len(indices) and (indices.min() < 0 or indices.max() >= n_cols))
        ):
            raise IndexCorrupted(f"{path} has inconsistent CSR arrays (shape {n_rows}x{n_cols}); rebuild the index")
        return cls(indptr, indices.astype(np.int32), data, n_cols)
