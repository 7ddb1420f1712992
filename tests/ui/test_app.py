"""The console's pages under streamlit's AppTest: main flows and bad input give messages, never tracebacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="install ragengine[ui]")
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "ragengine" / "_ui" / "app.py")


@pytest.fixture
def env(tiny_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setenv("RAGENGINE_INDEXES", str(tiny_index.parent))
    monkeypatch.setenv("RAGENGINE_RESULTS", str(results))
    monkeypatch.delenv("RAGENGINE_UI_INDEX", raising=False)
    yield tiny_index.parent


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def _ask(at: AppTest, question: str, strategy: str = "greedy", budget: int = 32) -> AppTest:
    at.selectbox(key="generator").select("extractive")
    at.selectbox(key="strategy").select(strategy)
    at.slider(key="budget").set_value(budget)
    at.text_input(key="question").input(question)
    at.button(key="ask_button").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_ask_shows_answer_citations_and_ledger(env: Path) -> None:
    at = _ask(_app(), "What is the capital of Italy?")
    assert any("Rome is the capital of Italy." in m.value for m in at.markdown)
    assert len(at.expander) >= 1 and "rome" in at.expander[0].label
    assert len(at.dataframe) == 1
    ledger = at.dataframe[0].value
    assert "usd" not in ledger.columns  # free local generation: no column of zero dollars
    assert all(round(v, 1) == v for v in ledger["ms"])  # milliseconds to one decimal, not three
    assert any("context" in c.value and "tokens" in c.value for c in at.caption)
    assert any(m.value.startswith("#### Rome is the capital of Italy.") for m in at.markdown)  # a heading, not grey


def test_the_console_defaults_to_the_clis_generator(env: Path) -> None:
    from ragengine import default_generator_name

    assert _app().selectbox(key="generator").value == default_generator_name()


def test_empty_question_gives_a_message(env: Path) -> None:
    at = _ask(_app(), "   ")
    assert any("Type a question" in w.value for w in at.warning)


def test_missing_index_gives_a_message(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGENGINE_UI_INDEX", "nope")
    at = _app()
    assert any("No index named 'nope'" in e.value for e in at.error)


def test_why_page_shows_each_sentences_probability_and_fate(env: Path) -> None:
    at = _ask(_app(), "What is the capital of Italy?", strategy="evidence", budget=32)
    at.sidebar.radio(key="page").set_value("Why")
    at.run()
    assert not at.exception
    sentences = at.dataframe[1].value
    assert "selected" in sentences["fate"].tolist()
    best = sentences.iloc[0]
    assert best["fate"] == "selected" and "Rome" in best["sentence"] and 0 < best["p"] <= 1
    assert any("P(answer in context)" in c.value for c in at.caption)
    texts = next(e for e in at.expander if e.label.startswith("Each candidate's text"))
    assert any("Rome is the capital of Italy." in t.value for t in texts.text)
    assert any("**#0 · selected" in m.value for m in texts.markdown)  # with its full chunk id
    assert any("**bm25**" in c.value and "**dense**" in c.value for c in at.caption)  # what each score means


def test_why_page_lists_fates_draws_the_tree_and_reruns_selection(env: Path) -> None:
    at = _ask(_app(), "Which river flows north into the sea?", strategy="mcts", budget=16)
    at.sidebar.radio(key="page").set_value("Why")
    at.run()
    assert not at.exception
    fates = at.dataframe[0].value["fate"].tolist()
    assert "selected" in fates and len(fates) == 5
    assert len(at.get("image")) == 1  # the MCTS tree (st.pyplot), drawn over the best paths only
    paths = at.dataframe[1].value
    assert 1 <= len(paths) <= 6 and paths["chosen"].any()
    assert paths["visits"].iloc[:-1].is_monotonic_decreasing  # the most visited paths, then the chosen one
    at.slider(key="what_if").set_value(64)
    at.run()
    assert not at.exception
    tokens = next(m for m in at.metric if m.label == "context tokens")
    assert int(tokens.value) > 16
    at.button(key="what_if_answer").click()
    at.run()
    assert not at.exception
    assert any(m.value == "**It flows north into the Mediterranean Sea.**" for m in at.markdown)  # the answer at 64
    assert any(c.value.startswith("spent ") and "of 64 context tokens" in c.value for c in at.caption)


def test_why_page_before_asking(env: Path) -> None:
    at = _app()
    at.sidebar.radio(key="page").set_value("Why")
    at.run()
    assert any("Ask a question" in i.value for i in at.info)


def test_index_page_builds_from_upload_and_refuses_bad_files(env: Path) -> None:
    at = _app()
    at.sidebar.radio(key="page").set_value("Index")
    at.run()
    at.file_uploader(key="uploads").set_value(("notes.txt", b"Canberra is the capital of Australia.", "text/plain"))
    at.text_input(key="new_name").input("up")
    at.button(key="build").click()
    at.run()
    assert not at.exception
    assert any("Indexed 1 documents" in s.value for s in at.success)
    assert (env / "up" / "manifest.json").is_file()

    at.file_uploader(key="uploads").set_value(("blob.txt", bytes(range(256)) * 8, "application/octet-stream"))
    at.text_input(key="new_name").input("bin")
    at.button(key="build").click()
    at.run()
    assert not at.exception
    assert any("no text to index" in e.value for e in at.error)
    assert any("blob.txt" in w.value and "UTF-8" in w.value for w in at.warning)
    assert not (env / "bin").exists()

    big = b"a " * (11 * 1024 * 1024)
    at.file_uploader(key="uploads").set_value(("big.txt", big, "text/plain"))
    at.button(key="build").click()
    at.run()
    assert not at.exception
    assert any("Over the 20 MB upload limit" in e.value for e in at.error)


def test_index_page_shows_corpus_statistics(env: Path) -> None:
    at = _app()
    at.sidebar.radio(key="page").set_value("Index")
    at.run()
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["documents"] == "5" and labels["chunks"] == "5"


def test_index_page_lists_adds_and_removes_documents(env: Path) -> None:
    at = _app()
    at.sidebar.radio(key="page").set_value("Index")
    at.run()
    assert sorted(at.dataframe[0].value["document"]) == ["berlin", "everest", "nile", "paris", "rome"]
    at.file_uploader(key="add_uploads").set_value(("oslo.txt", b"Oslo is the capital of Norway.", "text/plain"))
    at.button(key="add_docs").click()
    at.run()
    assert not at.exception, at.exception
    assert any("1 new" in s.value and "5 reused" in s.value for s in at.success)
    assert "oslo.txt" in list(at.dataframe[0].value["document"])  # named by file, not by the upload's temp path
    at.multiselect(key="remove_ids").select("oslo.txt").select("rome")
    at.button(key="remove_docs").click()
    at.run()
    assert not at.exception, at.exception
    assert any("2 removed" in s.value for s in at.success)
    assert sorted(at.dataframe[0].value["document"]) == ["berlin", "everest", "nile", "paris"]


def test_eval_page_shows_a_report(env: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    (results / "demo.json").write_text(json.dumps({"summary": [{"strategy": "greedy", "acc": 0.5}]}))
    (results / "demo.md").write_text("# Demo report\n\nall good\n")
    at = _app()
    at.sidebar.radio(key="page").set_value("Eval")
    at.run()
    assert not at.exception
    assert any("Demo report" in m.value for m in at.markdown)
    assert len(at.dataframe) == 1
    (results / "broken.json").write_text("{nope")
    at.run()
    at.selectbox(key="report").select("broken.json")
    at.run()
    assert not at.exception and any("not valid JSON" in e.value for e in at.error)


def test_eval_page_runs_a_small_eval_on_the_users_questions(env: Path) -> None:
    lines = [
        json.dumps({"question": "What is the capital of Italy?", "answer": "Rome"}),
        json.dumps({"question": "Which river flows north?", "answers": ["Nile", "the Nile"]}),
        "not json",
        json.dumps({"question": "No gold here?"}),
    ]
    at = _app()
    at.sidebar.radio(key="page").set_value("Eval")
    at.run()
    at.file_uploader(key="eval_questions").set_value(("q.jsonl", "\n".join(lines).encode(), "application/jsonl"))
    at.multiselect(key="eval_budgets").set_value([64, 128])
    at.selectbox(key="eval_generator").select("extractive")
    at.button(key="eval_run").click()
    at.run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert any("line 3: not JSON" in w for w in warnings) and any("line 4: needs" in w for w in warnings)
    table = at.dataframe[0].value
    assert table["budget"].tolist() == [64, 128]
    assert (table["gold in context"] == 1.0).all()  # both golds are in what the reader got
    assert (table["context tokens"] <= table["budget"]).all() and (table["answer accuracy"] > 0).all()
    assert any("2 questions on 'tiny'" in c.value for c in at.caption)


def test_index_page_shows_clusters_and_builds_them_when_missing(env: Path) -> None:
    at = _app()
    at.sidebar.radio(key="page").set_value("Index")
    at.run()
    assert any("has no clusters" in i.value for i in at.info)
    at.button(key="build_clusters").click()
    at.run()
    assert not at.exception, at.exception
    assert (env / "tiny" / "clusters" / "clusters.json").is_file()
    assert any("2 clusters of 5 chunks" in c.value for c in at.caption)
    table = at.dataframe[-1].value
    assert list(table["chunks"]) and sum(table["chunks"]) == 5
    assert all(isinstance(s, str) and s for s in table["summary"])


def test_ask_with_cache_and_prf_rewrite_shows_the_path(env: Path) -> None:
    at = _app()
    at.selectbox(key="rewrite").select("prf")
    at.toggle(key="cache").set_value(True)
    _ask(at, "Which river flows through Berlin?")
    assert any("Searched with 2 queries (prf)" in c.value for c in at.caption)
    assert not any("answer cache" in s.value for s in at.success)
    at.button(key="ask_button").click()
    at.run()
    assert not at.exception
    assert any("Served from the answer cache" in s.value for s in at.success)
    at.sidebar.radio(key="page").set_value("Why")
    at.run()
    assert not at.exception, at.exception
    assert at.slider(key="what_if").value == 32
