from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragengine import Engine
from ragengine.errors import EmptyCorpus, IndexCorrupted, IndexMismatch, IndexNotFound, InvalidInput
from ragengine.index.manifest import Manifest
from ragengine.index.store import LoadedIndex, resolve_index_dir
from ragengine.testing import HashEmbedder
from ragengine.types import Document
from tests.conftest import tiny_docs


def test_build_and_load_round_trip(tiny_index: Path) -> None:
    idx = LoadedIndex.load(tiny_index, embedder="hash-64")
    m = idx.manifest
    assert (m.n_documents, m.n_chunks, m.embedder, m.tokenizer, m.dense_kind) == (5, 5, "hash-64", "whitespace", "flat")
    assert set(m.files) >= {"chunks.jsonl", "vectors.npy", "dense.faiss", "bm25/params.index.json"}
    assert idx.vectors.shape == (5, 64)
    assert idx.chunks[0].doc_id == "paris"
    assert not any(p.suffix in (".pkl", ".pickle") for p in tiny_index.rglob("*"))
    _, ids = idx.dense.search(np.asarray(HashEmbedder(64).embed(["capital of Italy"])), 1)
    assert idx.chunks[int(ids[0][0])].doc_id == "rome"


def test_other_embedder_is_refused(tiny_index: Path) -> None:
    with pytest.raises(IndexMismatch, match="built with embedder 'hash-64'"):
        Engine.from_index(tiny_index, embedder="minilm-onnx-int8", generator="none")


def test_corrupted_file_is_detected(tiny_index: Path) -> None:
    original = (tiny_index / "chunks.jsonl").read_bytes()
    with (tiny_index / "chunks.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"tampered": True}) + "\n")
    with pytest.raises(IndexCorrupted, match="chunks.jsonl does not match its checksum"):
        LoadedIndex.load(tiny_index)
    (tiny_index / "chunks.jsonl").write_bytes(original)
    (tiny_index / "dense.faiss").unlink()
    with pytest.raises(IndexCorrupted, match="missing dense.faiss"):
        LoadedIndex.load(tiny_index, verify=True)


def test_unknown_index_lists_what_exists(tiny_index: Path) -> None:
    with pytest.raises(IndexNotFound, match=r"no index named 'nope'.*indexes there: tiny"):
        resolve_index_dir("nope", tiny_index.parent)


def test_failed_build_keeps_the_old_index(tiny_index: Path) -> None:
    before = Manifest.read(tiny_index).files
    with pytest.raises(EmptyCorpus, match="no text to index"):
        Engine.build_index(
            [Document("e", "  ")],
            "tiny",
            root=tiny_index.parent,
            embedder="hash-64",
            tokenizer="whitespace",
            chunk_size=16,
            chunk_overlap=0,
        )
    assert Manifest.read(tiny_index).files == before
    assert [p.name for p in tiny_index.parent.iterdir() if p.name.startswith(".")] == []


class _Interrupting(HashEmbedder):
    def embed(self, texts, *, batch_size=64, progress=False):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt


def test_interrupted_build_keeps_the_old_index(tiny_index: Path) -> None:
    before = Manifest.read(tiny_index).files
    with pytest.raises(KeyboardInterrupt):
        Engine.build_index(
            tiny_docs(),
            "tiny",
            root=tiny_index.parent,
            embedder=_Interrupting(64),
            tokenizer="whitespace",
            chunk_size=16,
            chunk_overlap=0,
            rebuild=True,
        )
    LoadedIndex.load(tiny_index)
    assert Manifest.read(tiny_index).files == before
    assert [p.name for p in tiny_index.parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "x" * 101])
def test_index_name_is_validated(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="index name"):
        Engine.build_index(tiny_docs(), name, root=tmp_path, embedder="hash-64", tokenizer="whitespace")


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_other_dense_kinds_build_and_search(tmp_path: Path, kind: str) -> None:
    docs = [Document(f"d{i}", f"document {i} about subject {i % 13} and item {i % 7}") for i in range(400)]
    Engine.build_index(docs, "k", root=tmp_path, embedder="hash-64", tokenizer="whitespace", dense_kind=kind)
    idx = LoadedIndex.load(tmp_path / "k")
    assert idx.manifest.dense_kind == kind
    _, ids = idx.dense.search(np.asarray(idx.vectors[:5], dtype=np.float32), 3)
    assert (ids[:, 0] == np.arange(5)).mean() >= 0.8
