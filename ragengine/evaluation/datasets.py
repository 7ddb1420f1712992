"""Benchmark loaders (questions with their gold answers and gold documents) and corpus readers.

Each format has a question loader returning ``QAExample``s and a corpus reader yielding
``(doc_id, title, text)``; the two share one id scheme, so a gold id is the id ingest gave the
paragraph, and retrieval can be scored by id without matching texts:

- SQuAD (v1.1, v2.0, XQuAD): ``f"{title}#{i}"``, ``i`` the 0-based paragraph index inside its
  article (``"Super_Bowl_50#0"``). Indices count within the file read: XQuAD keeps 5 paragraphs
  per article, so its ids differ from SQuAD v1.1's for the same paragraph.
- BEIR: the corpus ``_id`` as a string (``"4983"``).
- HippoRAG (HotpotQA, MuSiQue): the paragraph's title when that title occurs once in the corpus
  file, else ``f"{title}#{n}"``, ``n`` the 0-based occurrence of the title in corpus file order.
  Titles are readable and are how HotpotQA names supporting facts, but MuSiQue's corpus repeats
  85 titles over distinct paragraphs ("Tennessee" x3), so a title alone is not an id there.
  Question paragraphs are matched to corpus entries by exact (title, text), falling back to the
  title when it is unique. An id collision (a title that already looks like "X#0") is an error.

A file that is missing or malformed raises ``DatasetError`` naming the file, the record and
what is wrong. JSONL (BEIR) is streamed; the JSON formats must be parsed whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragengine.errors import InvalidInput
from ragengine.ingest.corpora import (
    ArticleRange,
    DatasetError,
    PathLike,
    hipporag_corpus,
    iter_beir_corpus,
    iter_hipporag_corpus,
    iter_jsonl,
    iter_squad_paragraphs,
    load_json,
    para_text,
    squad_paragraphs,
)
from ragengine.ingest.corpora import get_field as _get

__all__ = [
    "SQUAD_REPORT",
    "SQUAD_TUNE",
    "DatasetError",
    "QAExample",
    "iter_beir_corpus",
    "iter_hipporag_corpus",
    "iter_squad_paragraphs",
    "load_beir_queries",
    "load_hipporag",
    "load_squad",
]

# 1-based inclusive article ranges of SQuAD v1.1 dev (48 articles): tune on one, report on the other.
SQUAD_TUNE = (1, 24)
SQUAD_REPORT = (25, 48)

Resolver = Callable[[str, str | None, str], str]


@dataclass(frozen=True)
class QAExample:
    """One benchmark question. ``answers`` is empty for unanswerable and retrieval-only (BEIR) questions."""

    id: str
    question: str
    answers: list[str]
    gold_doc_ids: list[str]
    unanswerable: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def load_squad(path: PathLike, articles: ArticleRange = None) -> list[QAExample]:
    """SQuAD v1.1 / v2.0 JSON (also XQuAD) as QAExamples, optionally for a range of articles.

    ``articles`` is a 1-based inclusive ``(first, last)`` tuple (``SQUAD_TUNE``, ``SQUAD_REPORT``)
    or a Python slice over the article list (0-based: ``slice(24, 48)`` equals ``(25, 48)``).
    The gold doc is the paragraph the question was written on, also for unanswerable v2.0
    questions (``is_impossible``), whose ``answers`` are empty. Repeated answer texts are kept once.
    """
    path = Path(path)
    out: list[QAExample] = []
    for art_no, title, pi, context, para, pwhere in squad_paragraphs(path, articles):
        for qi, qa in enumerate(_get(para, "qas", list, path, pwhere)):
            where = f"{pwhere} question {qi}"
            qid = _get(qa, "id", str, path, where)
            where = f"{where} (id {qid!r})"
            question = _get(qa, "question", str, path, where)
            impossible = _get(qa, "is_impossible", bool, path, where) if "is_impossible" in qa else False
            answers = [
                _get(a, "text", str, path, f"{where} answer {ai}")
                for ai, a in enumerate(_get(qa, "answers", list, path, where))
            ]
            if not answers and not impossible:
                raise DatasetError(f"{path}: {where}: no answers, and the question is not marked 'is_impossible'")
            meta = {"title": title, "article": art_no, "paragraph": pi, "context": context}
            out.append(QAExample(qid, question, _dedup(answers), [f"{title}#{pi}"], impossible, meta))
    return out


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    try:
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                parts = line.rstrip("\r\n").split("\t")
                if len(parts) != 3:
                    raise DatasetError(f"{path}: line {lineno}: expected 3 tab-separated columns, got {len(parts)}")
                try:
                    score = int(parts[2])
                except ValueError as e:
                    if lineno == 1:  # header: query-id corpus-id score
                        continue
                    raise DatasetError(f"{path}: line {lineno}: score {parts[2]!r} is not an integer") from e
                qrels.setdefault(parts[0], {})[parts[1]] = score
    except FileNotFoundError as e:
        found = sorted(p.stem for p in path.parent.glob("*.tsv"))
        raise DatasetError(f"{path}: file not found; splits available: {found or 'none'}") from e
    return qrels


def load_beir_queries(folder: PathLike, split: str = "test") -> list[QAExample]:
    """The queries of a BEIR split (those with a line in ``qrels/{split}.tsv``), in queries.jsonl order.

    ``gold_doc_ids`` are the docs graded > 0 (qrels order); ``meta["qrels"]`` keeps every grade
    for ``ndcg_at_k``, and ``meta["metadata"]`` the query's metadata (SciFact: evidence labels).
    """
    if not isinstance(split, str) or not split or any(c in split for c in "/\\") or split.startswith("."):
        raise InvalidInput(f"split must be a plain name such as 'test' or 'train', got {split!r}")
    folder = Path(folder)
    qrels = _read_qrels(folder / "qrels" / f"{split}.tsv")
    path = folder / "queries.jsonl"
    out: list[QAExample] = []
    for lineno, rec in iter_jsonl(path):
        qid = str(_get(rec, "_id", (str, int), path, f"line {lineno}"))
        if qid in qrels:
            text = _get(rec, "text", str, path, f"line {lineno} (id {qid!r})")
            rel = qrels[qid]
            gold = [d for d, s in rel.items() if s > 0]
            out.append(QAExample(qid, text, [], gold, False, {"qrels": rel, "metadata": rec.get("metadata") or {}}))
    missing = sorted(set(qrels) - {e.id for e in out})
    if missing:
        raise DatasetError(
            f"{path}: {len(missing)} query ids of qrels/{split}.tsv are not in the file, e.g. {missing[:3]}"
        )
    return out


def load_hipporag(path: PathLike, corpus_path: PathLike | None = None) -> list[QAExample]:
    """HippoRAG-format HotpotQA (``supporting_facts``) or MuSiQue (``paragraphs[].is_supporting``).

    Gold ids come from the corpus file (default: ``<stem>_corpus.json`` beside ``path``), so
    they equal ``iter_hipporag_corpus`` ids. HotpotQA golds are the supporting-fact titles (in
    order, once each); MuSiQue golds the supporting paragraphs; ``answers`` = answer + aliases.
    """
    path = Path(path)
    cpath = Path(corpus_path) if corpus_path is not None else path.with_name(f"{path.stem}_corpus.json")
    corpus = hipporag_corpus(cpath)
    by_text = {(title, text): doc_id for doc_id, title, text in corpus}
    unique = {title for doc_id, title, _ in corpus if doc_id == title}
    records = load_json(path)
    if not isinstance(records, list):
        raise DatasetError(f"{path}: top level: expected a list of questions, got {type(records).__name__}")

    def resolve(title: str, text: str | None, where: str) -> str:
        doc_id = by_text.get((title, text)) if text is not None else None
        if doc_id is None and title in unique:
            doc_id = title
        if doc_id is None:
            raise DatasetError(f"{path}: {where}: supporting paragraph {title!r} is not in the corpus {cpath.name}")
        return doc_id

    out: list[QAExample] = []
    for i, rec in enumerate(records):
        if isinstance(rec, dict) and "paragraphs" in rec:
            out.append(_musique(rec, path, f"question {i}", resolve))
        elif isinstance(rec, dict) and "supporting_facts" in rec:
            out.append(_hotpot(rec, path, f"question {i}", resolve))
        else:
            raise DatasetError(f"{path}: question {i}: missing 'paragraphs' (MuSiQue) or 'supporting_facts' (HotpotQA)")
    return out


def _head(rec: dict[str, Any], id_key: str, path: Path, where: str) -> tuple[str, str, str, str]:
    qid = str(_get(rec, id_key, (str, int), path, where))
    where = f"{where} (id {qid!r})"
    return qid, where, _get(rec, "question", str, path, where), _get(rec, "answer", str, path, where)


def _hotpot(rec: dict[str, Any], path: Path, where: str, resolve: Resolver) -> QAExample:
    qid, where, question, answer = _head(rec, "_id", path, where)
    context: dict[str, str] = {}
    for j, item in enumerate(_get(rec, "context", list, path, where)):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise DatasetError(f"{path}: {where} context {j}: expected [title, sentences]")
        context[item[0]] = para_text(item[1], path, f"{where} context {j}")
    facts = _get(rec, "supporting_facts", list, path, where)
    if not facts:
        raise DatasetError(f"{path}: {where}: 'supporting_facts' is empty")
    gold = []
    for j, fact in enumerate(facts):
        if not (isinstance(fact, list) and len(fact) == 2 and isinstance(fact[0], str)):
            raise DatasetError(f"{path}: {where} supporting fact {j}: expected [title, sentence index]")
        gold.append(resolve(fact[0], context.get(fact[0]), f"{where} supporting fact {j}"))
    meta = {"type": rec.get("type"), "level": rec.get("level"), "supporting_facts": facts, "format": "hotpotqa"}
    return QAExample(qid, question, [answer], _dedup(gold), False, meta)


def _musique(rec: dict[str, Any], path: Path, where: str, resolve: Resolver) -> QAExample:
    qid, where, question, answer = _head(rec, "id", path, where)
    aliases = _get(rec, "answer_aliases", list, path, where) if "answer_aliases" in rec else []
    if not all(isinstance(a, str) for a in aliases):
        raise DatasetError(f"{path}: {where}: 'answer_aliases' must be a list of strings")
    answerable = _get(rec, "answerable", bool, path, where) if "answerable" in rec else True
    gold = []
    for j, p in enumerate(_get(rec, "paragraphs", list, path, where)):
        pwhere = f"{where} paragraph {j}"
        if _get(p, "is_supporting", bool, path, pwhere):
            title, text = _get(p, "title", str, path, pwhere), _get(p, "paragraph_text", str, path, pwhere)
            gold.append(resolve(title, text, pwhere))
    if answerable and not gold:
        raise DatasetError(f"{path}: {where}: no paragraph has 'is_supporting': true")
    decomposition = rec.get("question_decomposition") or []
    meta = {"question_decomposition": decomposition, "hops": len(decomposition) or len(gold), "format": "musique"}
    return QAExample(qid, question, _dedup([answer, *aliases]), _dedup(gold), not answerable, meta)
