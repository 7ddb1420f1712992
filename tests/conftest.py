"""Shared fixtures: a tiny index on the deterministic fakes, and the real XQuAD demo index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragengine.types import Document

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAGENGINE_READER", "smollm2")  # tests read with SmolLM2 whatever else is installed
REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
XQUAD = REPO / "ragengine" / "data" / "xquad-en" / "xquad.en.json"


def tiny_docs() -> list[Document]:
    from ragengine.testing import TINY_CORPUS

    return [Document(doc_id, text, {"title": doc_id}) for doc_id, text in TINY_CORPUS]


@pytest.fixture
def tiny_index(tmp_path: Path) -> Path:
    from ragengine import Engine

    Engine.build_index(
        tiny_docs(), "tiny", root=tmp_path, embedder="hash-64", tokenizer="whitespace", chunk_size=16, chunk_overlap=0
    )
    return tmp_path / "tiny"


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real demo index: XQuAD English, ONNX MiniLM, SmolLM2 tokenizer, 128-token chunks."""
    from ragengine import Engine

    root = tmp_path_factory.mktemp("indexes")
    Engine.build_index([XQUAD], "demo", root=root)
    return root / "demo"


def need_data(*parts: str) -> Path:
    p = DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"benchmark data not found at {p} (expected ../shared/data beside the repo)")
    return p
