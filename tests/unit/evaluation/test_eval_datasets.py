"""Loaders on the real benchmark files (../shared/data) and on small malformed files."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ragengine.errors import InvalidInput
from ragengine.evaluation.datasets import (
    SQUAD_REPORT,
    SQUAD_TUNE,
    DatasetError,
    iter_beir_corpus,
    iter_hipporag_corpus,
    iter_squad_paragraphs,
    load_beir_queries,
    load_hipporag,
    load_squad,
)

# tests/unit/evaluation/<this file> -> repo root -> ../shared/data
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def _real(rel: str) -> Path:
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"benchmark data not found at {path} (expected ../shared/data beside the repo)")
    return path


def _write(path: Path, obj: Any) -> Path:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return path


# ------------------------------------------------------------------ real files


@pytest.fixture(scope="module")
def squad_v1() -> Path:
    return _real("squad-v1.1-dev/dev-v1.1.rebuilt.json")


def test_squad_v11_counts_and_ids(squad_v1: Path) -> None:
    examples = load_squad(squad_v1)
    paragraphs = list(iter_squad_paragraphs(squad_v1))
    assert len(examples) == 10570 and len(paragraphs) == 2067
    assert len({e.meta["article"] for e in examples}) == 48
    ids = {doc_id for doc_id, _, _ in paragraphs}
    assert len(ids) == 2067 and paragraphs[0][:2] == ("Super_Bowl_50#0", "Super_Bowl_50")
    first = examples[0]
    assert first.id == "56be4db0acb8001400a502ec" and first.answers == ["Denver Broncos"]
    assert first.gold_doc_ids == ["Super_Bowl_50#0"] and not first.unanswerable
    texts = dict((d, t) for d, _, t in paragraphs)
    for e in examples:
        assert e.gold_doc_ids[0] in ids and texts[e.gold_doc_ids[0]] == e.meta["context"]
        assert all(a in e.meta["context"] for a in e.answers)  # every answer text occurs in its paragraph


def test_squad_article_ranges(squad_v1: Path) -> None:
    tune, report = load_squad(squad_v1, SQUAD_TUNE), load_squad(squad_v1, SQUAD_REPORT)
    assert (len(tune), len(report)) == (5696, 4874)
    assert {e.meta["article"] for e in report} == set(range(25, 49))
    assert not {e.id for e in tune} & {e.id for e in report}
    assert [e.id for e in load_squad(squad_v1, slice(24, 48))] == [e.id for e in report]
    report_docs = {d for d, _, _ in iter_squad_paragraphs(squad_v1, SQUAD_REPORT)}
    assert len(report_docs) == 1019 and {e.gold_doc_ids[0] for e in report} <= report_docs


def test_squad_v20_unanswerable() -> None:
    examples = load_squad(_real("squad-v2.0-dev/dev-v2.0.rebuilt.json"))
    impossible = [e for e in examples if e.unanswerable]
    assert len(examples) == 11873 and len(impossible) == 5945
    assert all(e.answers == [] for e in impossible) and all(e.answers for e in examples if not e.unanswerable)
    with pytest.raises(InvalidInput, match="the file has 35 articles"):
        load_squad(_real("squad-v2.0-dev/dev-v2.0.rebuilt.json"), SQUAD_REPORT)


def test_xquad() -> None:
    path = _real("xquad-en/xquad.en.json")
    assert len(load_squad(path)) == 1190 and len(list(iter_squad_paragraphs(path))) == 240


def test_beir_scifact() -> None:
    folder = _real("beir-scifact")
    test, train = load_beir_queries(folder), load_beir_queries(folder, split="train")
    assert len(test) == 300 and sum(len(e.meta["qrels"]) for e in test) == 339
    assert len(train) == 809 and sum(len(e.meta["qrels"]) for e in train) == 919
    assert test[0].id == "1" and test[0].gold_doc_ids == ["31715818"] and test[0].meta["qrels"] == {"31715818": 1}
    corpus_ids = [doc_id for doc_id, _, _ in iter_beir_corpus(folder)]
    assert len(corpus_ids) == 5183 == len(set(corpus_ids)) and corpus_ids[0] == "4983"
    assert all(g in set(corpus_ids) for e in test + train for g in e.gold_doc_ids)


def test_hotpotqa_hipporag() -> None:
    path = _real("hotpotqa-train100-hipporag/hotpotqa_train.json")
    examples = load_hipporag(path)
    corpus = list(iter_hipporag_corpus(path.with_name("hotpotqa_train_corpus.json")))
    ids = {d for d, _, _ in corpus}
    assert len(examples) == 100 and len(corpus) == 994 == len(ids)
    assert all(d == title for d, title, _ in corpus)  # titles are unique in this corpus, so they are the ids
    assert examples[0].id == "5a77ec115542992a6e59dff7" and examples[0].answers == ["a spirit"]
    assert examples[0].gold_doc_ids == ["Alû", "Lilu (mythology)"]
    assert all(len(e.gold_doc_ids) == 2 and set(e.gold_doc_ids) <= ids for e in examples)
    assert Counter(e.meta["type"] for e in examples) == {"bridge": 78, "comparison": 22}


def test_musique_hipporag() -> None:
    path = _real("musique-train100-hipporag/musique_train.json")
    examples = load_hipporag(path)
    corpus = list(iter_hipporag_corpus(path.with_name("musique_train_corpus.json")))
    by_id = {d: (title, text) for d, title, text in corpus}
    assert len(examples) == 100 and len(corpus) == 1890 == len(by_id)
    assert Counter(len(e.gold_doc_ids) for e in examples) == {2: 68, 3: 27, 4: 5}
    assert all(e.meta["hops"] == len(e.gold_doc_ids) for e in examples)
    assert examples[0].answers == ["G. Stanley Hall", "Stanley Hall"]
    # "Adolescence" has several corpus paragraphs: the id carries its occurrence number.
    assert examples[0].gold_doc_ids == ["Journal of Psychotherapy Integration", "Adolescence#0"]
    raw = json.loads(path.read_text(encoding="utf-8"))
    for e, rec in zip(examples, raw, strict=True):
        supporting = [(p["title"], p["paragraph_text"]) for p in rec["paragraphs"] if p["is_supporting"]]
        assert [by_id[g] for g in e.gold_doc_ids] == supporting  # each gold id is that exact paragraph


# ------------------------------------------------------------------ malformed files


def _squad(context: Any = "ctx Paris", qa: dict[str, Any] | None = None, title: str = "T") -> dict[str, Any]:
    q = {"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 4}]} if qa is None else qa
    para = {"qas": [q]} if context is None else {"context": context, "qas": [q]}
    return {"version": "1.1", "data": [{"title": title, "paragraphs": [para]}]}


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"version": "1.1"}, "top level: missing 'data'"),
        ({"data": [{"paragraphs": []}]}, "article 1: missing 'title'"),
        (_squad(context=None), "article 1 ('T') paragraph 0: missing 'context'"),
        (_squad(context=5), "article 1 ('T') paragraph 0: 'context' must be str, got int"),
        (_squad(qa={"question": "q", "answers": []}), "paragraph 0 question 0: missing 'id'"),
        (_squad(qa={"id": "q1", "answers": []}), "question 0 (id 'q1'): missing 'question'"),
        (_squad(qa={"id": "q1", "question": "q", "answers": {}}), "(id 'q1'): 'answers' must be list, got dict"),
        (_squad(qa={"id": "q1", "question": "q", "answers": [{}]}), "(id 'q1') answer 0: missing 'text'"),
        (_squad(qa={"id": "q1", "question": "q", "answers": []}), "(id 'q1'): no answers, and the question is not"),
        (
            _squad(qa={"id": "q1", "question": "q", "answers": [], "is_impossible": "no"}),
            "'is_impossible' must be bool, got str",
        ),
        ({"data": [_squad()["data"][0], _squad()["data"][0]]}, "article 2: title 'T' repeats"),
        ("{not json", "not valid JSON at line 1"),
    ],
)
def test_squad_malformed(tmp_path: Path, obj: Any, message: str) -> None:
    path = _write(tmp_path / "bad_squad.json", obj)
    with pytest.raises(DatasetError, match=r"bad_squad\.json: .*" + re.escape(message)):
        load_squad(path)


def test_squad_missing_file_and_unanswerable(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nope\.json: file not found"):
        list(iter_squad_paragraphs(tmp_path / "nope.json"))
    path = _write(tmp_path / "v2.json", _squad(qa={"id": "q9", "question": "q", "answers": [], "is_impossible": True}))
    (only,) = load_squad(path)
    assert only.unanswerable and only.answers == [] and only.gold_doc_ids == ["T#0"]


def test_squad_articles_validation(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.json", _squad())
    with pytest.raises(InvalidInput, match=r"1 <= first <= last <= 1 \(the file has 1 articles\)"):
        load_squad(path, (0, 1))
    with pytest.raises(InvalidInput, match="the file has 1 articles"):
        load_squad(path, SQUAD_REPORT)
    for bad in ("1-24", (1, 2, 3), (True, 1), [1, 1]):
        with pytest.raises(InvalidInput, match="articles must be None, a 1-based"):
            load_squad(path, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="selects none of the file's 1 articles"):
        list(iter_squad_paragraphs(path, slice(5, 9)))


def _beir(tmp_path: Path, queries: str, qrels: str, corpus: str = "") -> Path:
    (tmp_path / "qrels").mkdir()
    (tmp_path / "queries.jsonl").write_text(queries, encoding="utf-8")
    (tmp_path / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    (tmp_path / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    return tmp_path


def test_beir_small_folder(tmp_path: Path) -> None:
    queries = '{"_id": "q1", "text": "one"}\n\n{"_id": 2, "text": "two"}\n{"_id": "q3", "text": "other split"}\n'
    corpus = '{"_id": "d1", "title": "T", "text": "x"}\n{"_id": 7, "text": "y"}\n'
    folder = _beir(tmp_path, queries, "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n2\td2\t1\n", corpus)
    examples = load_beir_queries(folder)
    assert [e.id for e in examples] == ["q1", "2"]
    assert examples[0].gold_doc_ids == ["d1"] and examples[0].meta["qrels"] == {"d1": 2, "d2": 0}
    assert list(iter_beir_corpus(folder)) == [("d1", "T", "x"), ("7", "", "y")]


@pytest.mark.parametrize(
    ("queries", "qrels", "message"),
    [
        (
            '{"_id": "q1", "text": "a"}\n{"_id": "q2", "text": \n',
            "q1\td1\t1\n",
            r"queries\.jsonl: line 2: not valid JSON",
        ),
        ('{"text": "a"}\n', "q1\td1\t1\n", r"queries\.jsonl: line 1: missing '_id'"),
        ('{"_id": "q1"}\n', "q1\td1\t1\n", r"queries\.jsonl: line 1 \(id 'q1'\): missing 'text'"),
        ('{"_id": "q1", "text": "a"}\n', "q1\td1\t1\nq1 d2 1\n", r"test\.tsv: line 2: expected 3 tab-separated"),
        ('{"_id": "q1", "text": "a"}\n', "q1\td1\t1\nq1\td2\thigh\n", r"test\.tsv: line 2: score 'high' is not"),
        ('{"_id": "q1", "text": "a"}\n', "q1\td1\t1\nq9\td1\t1\n", r"queries\.jsonl: 1 query ids .* \['q9'\]"),
    ],
)
def test_beir_malformed(tmp_path: Path, queries: str, qrels: str, message: str) -> None:
    folder = _beir(tmp_path, queries, qrels)
    with pytest.raises(DatasetError, match=message):
        load_beir_queries(folder)


def test_beir_split_and_corpus_errors(tmp_path: Path) -> None:
    folder = _beir(tmp_path, '{"_id": "q1", "text": "a"}\n', "q1\td1\t1\n", '{"_id": "d1", "title": "t"}\n')
    with pytest.raises(DatasetError, match=r"dev\.tsv: file not found; splits available: \['test'\]"):
        load_beir_queries(folder, split="dev")
    for bad in ("../test", "", ".hidden", None):
        with pytest.raises(InvalidInput, match="split must be a plain name"):
            load_beir_queries(folder, split=bad)  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match=r"corpus\.jsonl: line 1 \(id 'd1'\): missing 'text'"):
        list(iter_beir_corpus(folder))
    with pytest.raises(DatasetError, match=r"corpus\.jsonl: file not found"):
        list(iter_beir_corpus(tmp_path / "elsewhere"))


def _musique_q(paragraphs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": "2hop__1", "question": "q?", "answer": "A", "paragraphs": paragraphs, **extra}


def _para(title: str, text: str, supporting: bool) -> dict[str, Any]:
    return {"idx": 0, "title": title, "paragraph_text": text, "is_supporting": supporting}


def test_hipporag_duplicate_titles_resolve_by_text(tmp_path: Path) -> None:
    corpus = [{"title": "T", "text": "one"}, {"title": "T", "text": "two"}, {"title": "U", "text": "three"}]
    _write(tmp_path / "mq_corpus.json", corpus)
    path = _write(tmp_path / "mq.json", [_musique_q([_para("T", "two", True), _para("U", "three", True)])])
    assert [d for d, _, _ in iter_hipporag_corpus(tmp_path / "mq_corpus.json")] == ["T#0", "T#1", "U"]
    (example,) = load_hipporag(path)
    assert example.gold_doc_ids == ["T#1", "U"] and example.answers == ["A"] and not example.unanswerable


@pytest.mark.parametrize(
    ("questions", "corpus", "where", "message"),
    [
        ([_musique_q([_para("X", "nope", True)])], [{"title": "T", "text": "t"}], "q.json",
         "question 0 (id '2hop__1') paragraph 0: supporting paragraph 'X' is not in the corpus q_corpus.json"),
        ([_musique_q([_para("T", "t", True), {"title": "T"}])], [{"title": "T", "text": "t"}], "q.json",
         "question 0 (id '2hop__1') paragraph 1: missing 'is_supporting'"),
        ([_musique_q([_para("T", "t", False)])], [{"title": "T", "text": "t"}], "q.json",
         "question 0 (id '2hop__1'): no paragraph has 'is_supporting': true"),
        ([{"id": "x", "question": "q"}], [{"title": "T", "text": "t"}], "q.json",
         "question 0: missing 'paragraphs' (MuSiQue) or 'supporting_facts'"),
        ({"q": 1}, [{"title": "T", "text": "t"}], "q.json", "top level: expected a list of questions"),
        ([{"_id": "h1", "question": "q", "answer": "a", "context": [["T", ["t"]]], "supporting_facts": [["Z", 0]]}],
         {"T": ["t"]}, "q.json", "question 0 (id 'h1') supporting fact 0: supporting paragraph 'Z' is not"),
        ([{"_id": "h1", "question": "q", "context": [], "supporting_facts": [["T", 0]]}],
         {"T": ["t"]}, "q.json", "question 0 (id 'h1'): missing 'answer'"),
        ([], [{"title": "T", "text": "t"}, {"title": "T"}], "q_corpus.json", "entry 1: missing 'text'"),
        ([], [{"title": "T", "text": "a"}, {"title": "T", "text": "b"}, {"title": "T#0", "text": "c"}],
         "q_corpus.json", "entry 2 ('T#0'): doc id 'T#0' collides"),
        ([], {"T": 5}, "q_corpus.json", "entry 'T': text must be a string or a list"),
    ],
)  # fmt: skip
def test_hipporag_malformed(tmp_path: Path, questions: Any, corpus: Any, where: str, message: str) -> None:
    path = _write(tmp_path / "q.json", questions)
    _write(tmp_path / "q_corpus.json", corpus)
    with pytest.raises(DatasetError, match=re.escape(where) + ": " + re.escape(message)):
        load_hipporag(path)


def test_hipporag_corpus_path(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.json", [])
    with pytest.raises(DatasetError, match=r"q_corpus\.json: file not found"):
        load_hipporag(path)
    other = _write(tmp_path / "elsewhere.json", {"T": ["a", " b"]})
    assert load_hipporag(path, corpus_path=other) == []
    assert list(iter_hipporag_corpus(other)) == [("T", "T", "a b")]
