from __future__ import annotations

import json
import logging
import tracemalloc
from pathlib import Path

import pytest

from ragengine.errors import InvalidInput
from ragengine.ingest.loaders import LoadReport, html_to_text, iter_documents
from tests.conftest import XQUAD, need_data


def test_reads_text_markdown_html_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Plain text about rivers.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Title\n\nMarkdown body.", encoding="utf-8")
    (tmp_path / "c.html").write_text("<html><script>x=1</script><p>Hello &amp; welcome</p></html>", encoding="utf-8")
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"id": "r1", "text": "First record."}) + "\n" + json.dumps({"text": "No id."}) + "\n",
        encoding="utf-8",
    )
    docs = list(iter_documents([tmp_path]))
    by_id = {d.doc_id: d for d in docs}
    assert by_id[str(tmp_path / "a.txt")].text == "Plain text about rivers."
    assert "Markdown body." in by_id[str(tmp_path / "b.md")].text
    assert by_id[str(tmp_path / "c.html")].text == "Hello & welcome"
    assert by_id["r1"].text == "First record."
    assert by_id[f"{tmp_path / 'd.jsonl'}:2"].metadata["line"] == 2


def test_non_utf8_file_is_skipped_with_a_warning_naming_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "good.txt").write_text("fine", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes("caf\xe9 latin-1".encode("latin-1"))
    report = LoadReport()
    with caplog.at_level(logging.WARNING):
        docs = list(iter_documents([tmp_path], report=report))
    assert [d.text for d in docs] == ["fine"]
    assert report.skipped and report.skipped[0][0].endswith("bad.txt")
    assert "bad.txt" in caplog.text and "UTF-8" in caplog.text


def test_large_file_is_streamed_not_loaded_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    para = ("The quick brown fox jumps over the lazy dog. " * 20 + "\n\n").encode()
    with big.open("wb") as f:
        for _ in range((50 * 1024 * 1024) // len(para) + 1):
            f.write(para)
    assert big.stat().st_size >= 50 * 1024 * 1024
    tracemalloc.start()
    parts = 0
    total = 0
    for d in iter_documents([big]):
        parts += 1
        total += len(d.text)
        assert len(d.text) <= 2 * 1024 * 1024
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert parts >= 40
    assert total >= 50 * 1024 * 1024 - 1024
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes: the file was not streamed"


def test_squad_json_keeps_article_and_paragraph_ids() -> None:
    docs = list(iter_documents([XQUAD]))
    assert len(docs) == 240
    assert docs[0].doc_id == "Super_Bowl_50#0"
    assert docs[0].metadata["title"] == "Super_Bowl_50"


def test_beir_folder_keeps_beir_ids() -> None:
    folder = need_data("beir-scifact")
    first = next(iter(iter_documents([folder])))
    raw = json.loads((folder / "corpus.jsonl").open(encoding="utf-8").readline())
    assert first.doc_id == str(raw["_id"])
    assert raw["text"][:50] in first.text


def test_missing_path_and_bad_jsonl(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file or folder"):
        list(iter_documents([tmp_path / "nope"]))
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"body": "no text field"}\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"x.jsonl:1: no string field 'text'"):
        list(iter_documents([bad]))
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"x.jsonl:1: not valid JSON"):
        list(iter_documents([bad]))


def test_unsupported_single_file_is_an_error_but_skipped_in_a_folder(tmp_path: Path) -> None:
    img = tmp_path / "x.png"
    img.write_bytes(b"\x89PNG")
    with pytest.raises(InvalidInput, match="unsupported file type"):
        list(iter_documents([img]))
    report = LoadReport()
    assert list(iter_documents([tmp_path], report=report)) == []
    assert report.skipped[0][1].startswith("unsupported")


def test_html_to_text_drops_scripts() -> None:
    assert html_to_text("<style>p{}</style><div>a</div><div>b</div>") == "a\n\nb"


def test_hipporag_corpora_both_layouts() -> None:
    hotpot = need_data("hotpotqa-train100-hipporag", "hotpotqa_train_corpus.json")
    musique = need_data("musique-train100-hipporag", "musique_train_corpus.json")
    assert len(list(iter_documents([hotpot]))) == 994
    docs = list(iter_documents([musique]))
    assert len(docs) == 1890 and len({d.doc_id for d in docs}) == 1890
