"""Corpus readers for benchmark formats: SQuAD JSON, BEIR folders, HippoRAG corpus JSON.

Each yields ``(doc_id, title, text)`` with the id scheme the question loaders of
``ragengine.evaluation.datasets`` use for gold documents, so retrieval is scored by id:

- SQuAD (v1.1, v2.0, XQuAD): ``f"{title}#{i}"``, ``i`` the 0-based paragraph index inside its article.
- BEIR: the corpus ``_id`` as a string.
- HippoRAG (HotpotQA, MuSiQue): the title when it occurs once in the corpus file, else
  ``f"{title}#{n}"``, ``n`` the 0-based occurrence of the title in file order.

A file that is missing or malformed raises ``DatasetError`` naming the file, the record and what
is wrong. JSONL is streamed; the JSON formats must be parsed whole.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragengine.errors import InvalidInput, RagEngineError
from ragengine.jsonl import iter_json_lines

PathLike = str | Path
ArticleRange = tuple[int, int] | slice | None


class DatasetError(RagEngineError, ValueError):
    """A benchmark file is missing or malformed; the message names the file, the record, and what is wrong."""


def load_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError as e:
        raise DatasetError(f"{path}: file not found; see ../shared/data/README.md for the benchmark files") from e
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}: not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text: {e}") from e


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    def bad(lineno: int, msg: str) -> Exception:
        return DatasetError(f"{path}: line {lineno}: not valid JSON: {msg}")

    try:
        yield from iter_json_lines(path, bad)
    except FileNotFoundError as e:
        raise DatasetError(f"{path}: file not found; a BEIR folder holds corpus.jsonl, queries.jsonl, qrels/") from e


def get_field(rec: Any, key: str, typ: type | tuple[type, ...], path: Path, where: str) -> Any:
    """``rec[key]`` checked for presence and type, or a DatasetError that says which record lacks what."""
    if not isinstance(rec, dict):
        raise DatasetError(f"{path}: {where}: expected a JSON object, got {type(rec).__name__}")
    if key not in rec:
        raise DatasetError(f"{path}: {where}: missing {key!r}")
    value = rec[key]
    # bool is an int in Python: reject True where a number is wanted, accept it only where bool is.
    if not isinstance(value, typ) or isinstance(value, bool) is not (typ is bool):
        names = "/".join(t.__name__ for t in (typ if isinstance(typ, tuple) else (typ,)))
        raise DatasetError(f"{path}: {where}: {key!r} must be {names}, got {type(value).__name__}")
    return value


def select_articles(articles: ArticleRange, n: int) -> range:
    if articles is None:
        return range(n)
    if isinstance(articles, slice):
        chosen = range(n)[articles]
    elif isinstance(articles, tuple) and len(articles) == 2 and all(type(a) is int for a in articles):
        if not 1 <= articles[0] <= articles[1] <= n:
            raise InvalidInput(
                f"articles {articles} must satisfy 1 <= first <= last <= {n} (the file has {n} articles)"
            )
        chosen = range(articles[0] - 1, articles[1])
    else:
        raise InvalidInput(
            f"articles must be None, a 1-based (first, last) tuple like SQUAD_REPORT, or a slice: {articles!r}"
        )
    if not chosen:
        raise InvalidInput(f"articles {articles!r} selects none of the file's {n} articles")
    return chosen


def squad_paragraphs(path: Path, articles: ArticleRange) -> Iterator[tuple[int, str, int, str, dict[str, Any], str]]:
    """(1-based article number, title, paragraph index, context, paragraph record, where) per paragraph."""
    arts, seen = get_field(load_json(path), "data", list, path, "top level"), set()
    for i in select_articles(articles, len(arts)):
        title = get_field(arts[i], "title", str, path, f"article {i + 1}")
        if title in seen:  # the title is half of every doc id of the article
            raise DatasetError(f"{path}: article {i + 1}: title {title!r} repeats, so its doc ids would collide")
        seen.add(title)
        for pi, para in enumerate(get_field(arts[i], "paragraphs", list, path, f"article {i + 1} ({title!r})")):
            where = f"article {i + 1} ({title!r}) paragraph {pi}"
            yield i + 1, title, pi, get_field(para, "context", str, path, where), para, where


def iter_squad_paragraphs(path: PathLike, articles: ArticleRange = None) -> Iterator[tuple[str, str, str]]:
    """Yield ``(f"{title}#{i}", title, context)`` per paragraph; ``articles`` as in ``load_squad``."""
    for _, title, pi, context, _, _ in squad_paragraphs(Path(path), articles):
        yield f"{title}#{pi}", title, context


def iter_beir_corpus(folder: PathLike) -> Iterator[tuple[str, str, str]]:
    """Stream ``(_id, title, text)`` from ``corpus.jsonl`` (title ``""`` when absent)."""
    path = Path(folder) / "corpus.jsonl"
    for lineno, rec in iter_jsonl(path):
        doc_id = str(get_field(rec, "_id", (str, int), path, f"line {lineno}"))
        where = f"line {lineno} (id {doc_id!r})"
        text = get_field(rec, "text", str, path, where)
        title = get_field(rec, "title", str, path, where) if rec.get("title") is not None else ""
        yield doc_id, title, text


def para_text(value: Any, path: Path, where: str) -> str:
    if value is None:
        raise DatasetError(f"{path}: {where}: missing 'text'")
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return "".join(value)  # HotpotQA sentences carry their own leading spaces
    raise DatasetError(f"{path}: {where}: text must be a string or a list of sentence strings")


def hipporag_corpus(path: Path) -> list[tuple[str, str, str]]:
    data = load_json(path)
    if isinstance(data, dict):  # HotpotQA: {title: [sentences]}
        entries = [(t, para_text(s, path, f"entry {t!r}")) for t, s in data.items()]
    elif isinstance(data, list):  # MuSiQue: [{"title", "text"}]
        entries = [
            (get_field(r, "title", str, path, f"entry {i}"), para_text(r.get("text"), path, f"entry {i}"))
            for i, r in enumerate(data)
        ]
    else:
        raise DatasetError(f"{path}: top level: expected a {{title: sentences}} object or a list of {{title, text}}")
    counts, seen, ids = Counter(t for t, _ in entries), Counter[str](), set()
    out = []
    for i, (title, text) in enumerate(entries):
        doc_id = title if counts[title] == 1 else f"{title}#{seen[title]}"
        seen[title] += 1
        if doc_id in ids:
            raise DatasetError(f"{path}: entry {i} ({title!r}): doc id {doc_id!r} collides with another entry's id")
        ids.add(doc_id)
        out.append((doc_id, title, text))
    return out


def iter_hipporag_corpus(path: PathLike) -> Iterator[tuple[str, str, str]]:
    """Yield ``(doc_id, title, text)`` per corpus paragraph of a HippoRAG ``*_corpus.json``."""
    yield from hipporag_corpus(Path(path))
