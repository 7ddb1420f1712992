"""Read files, folders and benchmark formats into Documents, streaming what is large.

Supported: .txt .md .html/.htm .jsonl (a text field, optional ``id``) .pdf (pypdf), a
SQuAD-format .json, a HippoRAG corpus .json (list of {title, text}), and a BEIR folder
(``corpus.jsonl``). A text file over ``stream_bytes`` is read in blocks split at paragraph
boundaries, so a 50 MB file never sits in memory whole (HTML through one parser across the
blocks, so a ``<script>`` spanning two blocks stays out of the text). A file that cannot be
read (not UTF-8 anywhere in it, a corrupt PDF, any loader error) is skipped whole with a
warning naming it (``LoadReport.skipped``), never half-indexed; nothing else is lost.

>>> docs = list(iter_documents(["README.md"]))  # doctest: +SKIP
"""

from __future__ import annotations

import codecs
import fnmatch
import html
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from ragengine.errors import InvalidInput
from ragengine.jsonl import iter_json_lines
from ragengine.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | {".jsonl", ".json", ".pdf"}
STREAM_BYTES = 4 * 1024 * 1024
BLOCK_BYTES = 1024 * 1024


@dataclass
class LoadReport:
    """What was read and what was skipped (with why), for the CLI to print."""

    files: int = 0
    documents: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    quiet: bool = False  # the caller prints ``skipped`` itself: log at INFO, so each file is named once

    def skip(self, path: Path | str, why: str) -> None:
        self.skipped.append((str(path), why))
        log.log(logging.INFO if self.quiet else logging.WARNING, "skipped %s: %s", path, why)


class _Unreadable(Exception):
    """A file that cannot be loaded; ``why`` says how, for the skip warning."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "tr", "section", "article"):
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _tidy(text: str) -> str:
    text = html.unescape(text)
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()


def html_to_text(markup: str) -> str:
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    return _tidy("".join(parser.parts))


def _stream_html(blocks: Iterable[str]) -> Iterator[str]:
    """Text of streamed HTML blocks through one parser, so tags spanning two blocks are honoured."""
    parser = _TextOnly()
    for block in blocks:
        parser.feed(block)
        text, parser.parts = "".join(parser.parts), []
        yield _tidy(text)
    parser.close()
    tail = _tidy("".join(parser.parts))
    if tail:
        yield tail


def _check_utf8(path: Path) -> None:
    """Decode the whole file once before any of it is yielded: a bad byte skips the file whole."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as e:
                raise _Unreadable(f"not UTF-8 text (byte {offset + e.start}); convert it with iconv -t UTF-8") from e
            offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as e:
        raise _Unreadable(f"not UTF-8 text (byte {offset}); convert it with iconv -t UTF-8") from e


def _stream_text(path: Path, block_bytes: int = BLOCK_BYTES) -> Iterator[str]:
    """Yield blocks of about ``block_bytes`` that end at a blank line (or line) where possible."""
    with path.open("r", encoding="utf-8", errors="strict") as f:
        carry = ""
        while True:
            data = f.read(block_bytes)
            if not data:
                break
            data = carry + data
            cut = data.rfind("\n\n")
            if cut < len(data) // 2:
                cut = data.rfind("\n")
            if cut <= 0:
                cut = len(data)
            carry = data[cut:]
            yield data[:cut]
        if carry.strip():
            yield carry


def _read_text_file(path: Path, doc_id: str, stream_bytes: int) -> Iterator[Document]:
    meta = {"source": str(path), "title": path.stem}
    if path.stat().st_size <= stream_bytes:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in HTML_SUFFIXES:
            text = html_to_text(text)
        yield Document(doc_id, text, meta)
        return
    _check_utf8(path)
    blocks: Iterable[str] = _stream_text(path)
    if path.suffix.lower() in HTML_SUFFIXES:
        blocks = _stream_html(blocks)
    for part, block in enumerate(blocks):
        yield Document(doc_id, block, {**meta, "part": part})


def _read_jsonl(path: Path, text_field: str) -> Iterator[Document]:
    def bad(lineno: int, msg: str) -> Exception:
        return InvalidInput(f"{path}:{lineno}: not valid JSON ({msg}); fix or remove that line")

    for lineno, rec in iter_json_lines(path, bad):
        if not isinstance(rec, dict) or not isinstance(rec.get(text_field), str):
            raise InvalidInput(
                f"{path}:{lineno}: no string field {text_field!r}; pass --text-field NAME for another field"
            )
        rid = rec.get("id", rec.get("_id"))
        doc_id = str(rid) if rid is not None else f"{path}:{lineno}"
        title = rec.get("title") if isinstance(rec.get("title"), str) else ""
        yield Document(doc_id, rec[text_field], {"source": str(path), "title": title, "line": lineno})


def _read_json(path: Path) -> Iterator[Document]:
    from ragengine.ingest.corpora import iter_hipporag_corpus, iter_squad_paragraphs

    with path.open("r", encoding="utf-8") as f:
        head = f.read(4096).lstrip()
    if head.startswith("{") and '"data"' in head:
        for doc_id, title, text in iter_squad_paragraphs(path):
            yield Document(doc_id, text, {"source": str(path), "title": title})
    elif head.startswith(("[", "{")):  # HippoRAG corpora: a list of {title, text} or {title: [sentences]}
        for doc_id, title, text in iter_hipporag_corpus(path):
            yield Document(doc_id, text, {"source": str(path), "title": title})
    else:
        raise InvalidInput(
            f"{path}: unrecognised JSON layout; expected SQuAD format ({{'data': [...]}}) or a HippoRAG corpus; "
            "use .jsonl with a text field for other data"
        )


def _read_pdf(path: Path) -> Iterator[Document]:
    try:
        from pypdf import PdfReader
    except ImportError:
        log.warning("skipped %s: PDF support needs pypdf (pip install pypdf)", path)
        return
    try:  # every page is read before any is yielded: a corrupt PDF is skipped whole
        pages = [page.extract_text() or "" for page in PdfReader(str(path)).pages]
    except Exception as e:  # pypdf raises many types (PdfReadError, KeyError, ValueError, ...)
        raise _Unreadable(f"unreadable PDF ({type(e).__name__}: {str(e)[:120]})") from e
    for page_no, text in enumerate(pages, 1):
        if text.strip():
            yield Document(str(path), text, {"source": str(path), "title": path.stem, "page": page_no})


def _beir_folder(folder: Path) -> Iterator[Document]:
    from ragengine.ingest.corpora import iter_beir_corpus

    for doc_id, title, text in iter_beir_corpus(folder):
        body = f"{title}. {text}" if title else text
        yield Document(doc_id, body, {"source": str(folder), "title": title})


def _files_under(path: Path, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Iterator[Path]:
    """Files of ``path`` (itself if a file), hidden ones left out, filtered by glob patterns.

    A pattern matches a file's path relative to the folder given (``docs/*.md`` style, ``/``
    separated) or its name alone (``*.md``); ``include`` keeps only matches (all files when
    empty), ``exclude`` drops matches.
    """
    if path.is_file():
        yield path
        return
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path)
        if not p.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if (include and not _matches(include, rel)) or _matches(exclude, rel):
            continue
        yield p


def _matches(patterns: Sequence[str], rel: Path) -> bool:
    """Whether a glob of ``patterns`` matches the relative path ``rel`` or its file name."""
    return any(fnmatch.fnmatchcase(rel.as_posix(), g) or fnmatch.fnmatchcase(rel.name, g) for g in patterns)


def check_globs(patterns: Sequence[str], what: str) -> tuple[str, ...]:
    """``patterns`` as a tuple, refusing empty or non-string ones with the fix."""
    if isinstance(patterns, str):
        patterns = [patterns]
    out = []
    for g in patterns:
        if not isinstance(g, str) or not g.strip():
            raise InvalidInput(f"{what} patterns must be non-empty glob strings such as '*.md', got {g!r}")
        out.append(g.strip())
    return tuple(out)


def _relative(d: Document, path: Path, root: Path) -> Document:
    rel = path.name if root.is_file() else path.relative_to(root).as_posix()
    meta = {**d.metadata, "source": rel} if d.metadata.get("source") == str(path) else d.metadata
    return Document(d.doc_id.replace(str(path), rel, 1), d.text, meta)


def iter_documents(
    paths: Iterable[str | Path],
    *,
    text_field: str = "text",
    stream_bytes: int = STREAM_BYTES,
    report: LoadReport | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    relative_ids: bool = False,
) -> Iterator[Document]:
    """Yield Documents from files and folders; a folder with ``corpus.jsonl`` is read as BEIR.

    ``include`` / ``exclude``: glob patterns over the files found in folders (see ``_files_under``).
    ``relative_ids``: name files by their path inside the folder given (its name for a file given
    alone) in ids and ``source``, not by the path as given, so the same files read from another
    place (an upload's temp folder) keep their ids and content hashes.
    """
    report = report if report is not None else LoadReport()
    include, exclude = check_globs(include, "include"), check_globs(exclude, "exclude")
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise InvalidInput(f"{root}: no such file or folder")
        if root.is_dir() and (root / "corpus.jsonl").is_file() and (root / "queries.jsonl").is_file():
            report.files += 1
            for d in _beir_folder(root):
                report.documents += 1
                yield d
            continue
        for p in _files_under(root, include, exclude):
            suffix = p.suffix.lower()
            if suffix not in SUPPORTED:
                if root.is_file():
                    raise InvalidInput(f"{p}: unsupported file type {suffix!r}; supported: {sorted(SUPPORTED)}")
                report.skip(p, f"unsupported file type {suffix!r}")
                continue
            report.files += 1
            try:
                if suffix == ".jsonl":
                    gen: Iterator[Document] = _read_jsonl(p, text_field)
                elif suffix == ".json":
                    gen = _read_json(p)
                elif suffix == ".pdf":
                    gen = _read_pdf(p)
                else:
                    gen = _read_text_file(p, str(p), stream_bytes)
                for d in gen:
                    report.documents += 1
                    yield _relative(d, p, root) if relative_ids else d
            except UnicodeDecodeError as e:
                report.skip(p, f"not UTF-8 text (byte {e.start}); convert it with iconv -t UTF-8")
            except _Unreadable as e:
                report.skip(p, e.why)
