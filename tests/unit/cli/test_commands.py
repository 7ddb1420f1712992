from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragengine.cli import main


def _index(tmp_path: Path) -> Path:
    src = tmp_path / "docs"
    src.mkdir()
    (src / "rivers.txt").write_text("The Nile flows north. The Amazon is in South America.", encoding="utf-8")
    (src / "cities.md").write_text("Paris is the capital of France.\n\nRome is the capital of Italy.", encoding="utf-8")
    (src / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    return src


def _index_argv(src: Path, root: Path) -> list[str]:
    """`ragengine index` on the fakes (hash embedder, whitespace tokenizer) as index ``t`` under ``root``."""
    return ["index", str(src), "--name", "t", "--root", str(root), "--embedder", "hash-64", "--tokenizer", "whitespace",
            "--chunk-size", "16", "--chunk-overlap", "0"]  # fmt: skip


def test_index_ask_info_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _index(tmp_path)
    root = tmp_path / "idx"
    rc = main([*_index_argv(src, root), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0
    info = json.loads(out)
    assert info["documents"] == 2 and info["skipped"] == [str(src / "latin1.txt")]
    assert err.count("latin1.txt") == 1  # one warning per skipped file, not one per layer

    rc = main(
        [
            "ask",
            "t",
            "What is the capital of Italy?",
            "--root",
            str(root),
            "--budget",
            "12",
            "--generator",
            "extractive",
            "--json",
        ]
    )
    out, _ = capsys.readouterr()
    assert rc == 0
    d = json.loads(out)
    assert d["answer"] == "Rome is the capital of Italy."
    assert d["budget"]["context_tokens"] == 12 and 0 < d["cost"]["context_tokens"] <= 12
    assert d["citations"][0]["chunk_id"] and d["citations"][0]["text"]
    assert "total_tokens" in d["cost"] and "retrieve" in d["cost"]["stages"] and d["strategy"] == "evidence"

    qs = tmp_path / "q.jsonl"
    qs.write_text(
        json.dumps({"id": "a", "question": "Where does the Nile flow?"})
        + "\n"
        + json.dumps({"question": "capital of France"})
        + "\n",
        encoding="utf-8",
    )
    rc = main(["ask", "t", "--questions", str(qs), "--root", str(root), "--generator", "none", "--json"])
    out, _ = capsys.readouterr()
    lines = [json.loads(x) for x in out.strip().splitlines()]
    assert rc == 0 and [x["id"] for x in lines] == ["a", "2"]
    assert all(x["answer"] == "" and x["cost"]["total_tokens"] == 0 for x in lines)

    assert main(["info", "t", "--root", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["n_chunks"] >= 2


@pytest.mark.parametrize(
    ("argv", "msg"),
    [
        (["ask", "nope", "q?"], "no index named 'nope'"),
        (["ask", "t", "   "], "question is empty"),
        (["ask", "t", "q?", "--budget", "0"], "context_tokens must be > 0"),
        (["ask", "t"], "give either a question or --questions"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], msg: str
) -> None:
    root = tmp_path / "idx"
    assert main(_index_argv(_index(tmp_path), root)) == 0
    capsys.readouterr()
    rc = main([*argv, "--root", str(root), "--generator", "none"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and msg in err and err.count("\n") == 1


def test_empty_corpus_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.txt").write_text("   ", encoding="utf-8")
    rc = main(
        [
            "index",
            str(tmp_path / "empty.txt"),
            "--name",
            "e",
            "--root",
            str(tmp_path / "i"),
            "--embedder",
            "hash-64",
            "--tokenizer",
            "whitespace",
        ]
    )
    assert rc == 2 and "no text to index" in capsys.readouterr().err


def test_search_prints_ranked_candidates_and_refuses_terms_without_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "idx"
    assert main(_index_argv(_index(tmp_path), root)) == 0
    capsys.readouterr()
    assert main(["search", "t", "capital of Italy", "-k", "2", "--root", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["rank"] for r in out["results"]] == [0, 1]
    assert out["results"][0]["doc_id"].endswith("cities.md") and "rrf" in out["results"][0]["scores"]
    rc = main(["search", "t", "capital", "--root", str(root), "--reranker", "terms"])
    assert rc == 2 and "has no term weights" in capsys.readouterr().err


def test_doc_ids_are_relative_to_the_folder_indexed_and_add_names_files_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ragengine import Engine

    src = _index(tmp_path)
    root = tmp_path / "idx"
    assert main([*_index_argv(src, root), "--json"]) == 0
    engine = Engine.from_index("t", root=root, generator="none")
    assert engine.manifest.doc_ids == "relative"
    assert set(engine.documents()) == {"rivers.txt", "cities.md"}
    (src / "cities.md").write_text("Paris is the capital of France. Madrid is in Spain.", encoding="utf-8")
    (src / "seas.txt").write_text("The Baltic Sea is brackish.", encoding="utf-8")
    capsys.readouterr()
    assert main(["add", "t", str(src / "cities.md"), str(src / "seas.txt"), "--root", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ids = set(Engine.from_index("t", root=root, generator="none").documents())
    assert ids == {"rivers.txt", "cities.md", "seas.txt"}  # a changed file replaced, not doubled
    assert report["documents"] == 3

    assert main([*_index_argv(src, root), "--doc-ids", "path", "--json"]) == 0
    capsys.readouterr()
    engine = Engine.from_index("t", root=root, generator="none")
    assert engine.manifest.doc_ids == "path"
    assert set(engine.documents()) == {str(src / n) for n in ("rivers.txt", "cities.md", "seas.txt")}
