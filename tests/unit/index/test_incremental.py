"""Incremental builds: an unchanged corpus encodes nothing, add / change / remove touch only what changed,
the result equals a full rebuild, clusters follow, and the answer cache never serves the old version."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragengine import BuildReport, Engine, EngineConfig
from ragengine.cli import main
from ragengine.cluster import load_clusters
from ragengine.errors import IndexNotFound, InvalidInput
from ragengine.index.manifest import Manifest
from ragengine.index.store import LoadedIndex
from ragengine.rerank.encoder import TokenEncoder
from ragengine.testing import TINY_CORPUS, EchoGenerator, HashEmbedder
from ragengine.types import Document

SMALL = {"embedder": "hash-64", "tokenizer": "whitespace", "chunk_size": 16, "chunk_overlap": 0}
NEW = Document("oslo", "Oslo is the capital of Norway. The Akerselva runs through it.", {"title": "oslo"})


class CountingEmbedder(HashEmbedder):
    """The hash embedder, counting the texts it is asked to embed."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self.texts: list[str] = []

    def embed(self, texts, *, batch_size=64, progress=False):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return super().embed(texts, batch_size=batch_size, progress=progress)


def _docs(extra: list[Document] | None = None, skip: str | None = None) -> list[Document]:
    out = [Document(d, t, {"title": d}) for d, t in TINY_CORPUS if d != skip]
    return out + (extra or [])


def _build(root: Path, docs: list[Document], **kw: object) -> tuple[Manifest, BuildReport]:
    report = BuildReport()
    opts = {**SMALL, **kw}
    m = Engine.build_index(docs, "t", root=root, build_report=report, **opts)  # type: ignore[arg-type]
    return m, report


def _state(folder: Path) -> tuple[list[str], list[str], np.ndarray]:
    idx = LoadedIndex.load(folder)
    return [c.chunk_id for c in idx.chunks], [c.text for c in idx.chunks], idx.dense.all_vectors()


def test_indexing_the_same_documents_again_encodes_nothing(tmp_path: Path) -> None:
    m1, r1 = _build(tmp_path, _docs())
    assert r1.chunks_embedded == m1.n_chunks and r1.chunks_reused == 0 and r1.documents_new == 5
    emb = CountingEmbedder(64)
    m2, r2 = _build(tmp_path, _docs(), embedder=emb)
    assert emb.texts == []
    assert (r2.chunks_embedded, r2.chunks_reused, r2.documents_unchanged) == (0, m1.n_chunks, 5)
    assert m2.files["chunks.jsonl"] == m1.files["chunks.jsonl"]
    assert m2.files["dense.faiss"] == m1.files["dense.faiss"]


def test_add_change_and_remove_encode_only_what_changed(tmp_path: Path) -> None:
    _build(tmp_path, _docs())
    emb = CountingEmbedder(64)
    engine = Engine.from_index("t", root=tmp_path, generator="extractive", embedder=emb)
    added = engine.add_documents([NEW])
    assert (added.documents_new, added.documents_unchanged, added.documents_removed) == (1, 0, 0)
    assert emb.texts == [c.text for c in engine.index.chunks if c.doc_id == "oslo"]
    assert engine.manifest.n_documents == 6
    assert engine.retrieve("Which river is the Akerselva in Oslo?").candidates[0].chunk.doc_id == "oslo"

    changed = Document("rome", "Rome is the capital of Italy. Its river is the Tiber, and it has seven hills.", {})
    emb.texts = []
    report = engine.add_documents([changed])
    assert report.documents_changed == 1 and report.documents_new == 0
    assert emb.texts and all("seven hills" in t or "Rome" in t for t in emb.texts)
    assert any("seven hills" in c.text for c in engine.index.chunks)
    assert not any(c.text == "Rome is the capital of Italy. The Tiber crosses the city." for c in engine.index.chunks)

    gone = engine.remove_documents(["paris"])
    assert gone.documents_removed == 1 and gone.chunks_embedded == 0
    assert "paris" not in engine.documents() and engine.manifest.n_documents == 5


def test_an_incremental_result_equals_a_full_rebuild(tmp_path: Path) -> None:
    _build(tmp_path / "a", _docs())
    _build(tmp_path / "a", _docs([NEW], skip="berlin"))  # sync: berlin gone, oslo new
    _build(tmp_path / "b", _docs([NEW], skip="berlin"))  # from scratch
    ids_a, texts_a, vec_a = _state(tmp_path / "a" / "t")
    ids_b, texts_b, vec_b = _state(tmp_path / "b" / "t")
    assert (ids_a, texts_a) == (ids_b, texts_b)
    np.testing.assert_array_equal(vec_a, vec_b)


def test_removing_an_unknown_id_changes_nothing(tmp_path: Path) -> None:
    m, _ = _build(tmp_path, _docs())
    engine = Engine.from_index("t", root=tmp_path, generator="none")
    with pytest.raises(InvalidInput, match="no document 'atlantis'"):
        engine.remove_documents(["atlantis"])
    assert Manifest.read(tmp_path / "t").files == m.files


def test_updating_a_missing_index_says_so(tmp_path: Path) -> None:
    from ragengine.indexing import update_index
    from ragengine.ingest.chunking import Chunker
    from ragengine.tokens import get_token_counter

    with pytest.raises(IndexNotFound, match="build it first"):
        update_index(
            [NEW],
            "nope",
            embedder=HashEmbedder(64),
            chunker=Chunker(get_token_counter("whitespace"), 16, 0),
            root=tmp_path,
        )


def test_clusters_follow_an_update_without_encoding_kept_sentences(tmp_path: Path) -> None:
    _build(tmp_path, _docs(), clusters=True)
    before_chunks = LoadedIndex.load(tmp_path / "t").chunks
    before = load_clusters(tmp_path / "t", before_chunks)
    emb = CountingEmbedder(64)
    engine = Engine.from_index("t", root=tmp_path, generator="none", embedder=emb)
    engine.add_documents([NEW])
    after = load_clusters(tmp_path / "t", engine.index.chunks)  # built on exactly the new chunk list
    new_texts = [c.text for c in engine.index.chunks if c.doc_id == "oslo"]
    assert emb.texts[: len(new_texts)] == new_texts
    assert all(any(t in n for n in new_texts) for t in emb.texts)  # then only the new chunks' sentences
    for r, c in enumerate(before_chunks):
        r2 = next(i for i, d in enumerate(engine.index.chunks) if d.chunk_id == c.chunk_id)
        np.testing.assert_array_equal(
            before.sentences.vectors[before.sentences.chunk == r], after.sentences.vectors[after.sentences.chunk == r2]
        )
    assert after.params["n_chunks"] == len(engine.index.chunks) == len(before_chunks) + len(new_texts)


def test_the_answer_cache_never_serves_the_previous_version(tmp_path: Path) -> None:
    _build(tmp_path, _docs())
    config = EngineConfig(cache=True, cache_dir=str(tmp_path / "cache"))
    engine = Engine.from_index("t", root=tmp_path, generator=EchoGenerator(), config=config)
    q = "Which river flows through Paris?"
    engine.ask(q, 40)
    assert engine.ask(q, 40).trace.get("path") == "cache"
    engine.add_documents(
        [Document("paris", "Paris is the capital of France. The Seine and the Bievre flow there.", {})]
    )
    again = engine.ask(q, 40)
    assert again.trace.get("path") != "cache"
    assert "Bievre" in " ".join(c.text for c in again.citations)


def test_cli_add_and_remove_report_what_they_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for d, t in TINY_CORPUS[:3]:
        (docs / f"{d}.txt").write_text(t, encoding="utf-8")
    small = ["--embedder", "hash-64", "--tokenizer", "whitespace", "--chunk-size", "16", "--chunk-overlap", "0"]
    root = ["--root", str(tmp_path / "idx")]
    assert main(["index", str(docs), "--name", "t", *root, *small, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["documents_new"] == 3
    new = tmp_path / "oslo.txt"
    new.write_text(NEW.text, encoding="utf-8")
    assert main(["add", "t", str(new), *root, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["documents_new"], out["documents"], out["chunks_reused"]) == (1, 4, 3)
    assert main(["index", str(docs), "--name", "t", *root, *small, "--json"]) == 0  # sync: oslo.txt leaves
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["documents_removed"], out["chunks_embedded"], out["documents"]) == (1, 0, 3)
    assert main(["info", "t", *root, "--documents"]) == 0
    listed = capsys.readouterr().out.split()
    victim = next(x for x in listed if x.endswith("rome.txt"))
    assert main(["remove", "t", victim, *root]) == 0
    assert "1 removed" in capsys.readouterr().out
    assert main(["remove", "t", "no-such-doc", *root]) == 2
    assert "no document 'no-such-doc'" in capsys.readouterr().err


def test_contextual_sentence_vectors_match_the_sentences_they_pool() -> None:
    """A span's pooled vector is closer to its own sentence's standalone vector than to the other's."""
    from ragengine.embed.onnx_minilm import OnnxMiniLM

    text = "The Seine flows through Paris. Photosynthesis turns light into sugar in plant leaves."
    spans = [(0, 30), (31, len(text))]
    _, pooled, sv = TokenEncoder().encode_spans([text], [spans])
    alone = OnnxMiniLM().embed([text[a:b] for a, b in spans])
    sims = sv @ alone.T
    assert sv.shape == (2, 384) and pooled.shape == (1, 384)
    assert sims[0, 0] > sims[0, 1] + 0.2 and sims[1, 1] > sims[1, 0] + 0.2
    assert np.allclose(np.linalg.norm(sv, axis=1), 1.0, atol=1e-5)
