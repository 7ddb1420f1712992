"""The selection benchmark's sets: SQuAD v1.1 dev (answer in context), HotpotQA and MuSiQue (supporting docs).

Each set names its questions file, its corpus file, how a hit is scored and its index; the
corpus readers give the doc ids the question loaders use for gold paragraphs, and ``check_ids``
confirms they match in the built index. ``SMOKE`` is the bundled XQuAD for a seconds-long run.
Cost: reading the files (the SQuAD dev file is 4 MB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragengine.engine import Engine
from ragengine.errors import InvalidInput
from ragengine.evaluation.datasets import (
    SQUAD_REPORT,
    QAExample,
    iter_hipporag_corpus,
    iter_squad_paragraphs,
    load_hipporag,
    load_squad,
)
from ragengine.evaluation.experiments.selection_summary import ANSWER, SUPPORT
from ragengine.types import Document

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
BUNDLED = Path(__file__).resolve().parents[2] / "data"


@dataclass(frozen=True)
class Spec:
    """A benchmark set: its questions file, its corpus file, how hits are scored, its index name."""

    name: str
    kind: str
    corpus: str
    questions: str
    index: str


SQUAD_DEV = "squad-v1.1-dev/dev-v1.1.rebuilt.json"
SPECS = {
    "squad-dev": Spec("squad-dev", ANSWER, SQUAD_DEV, SQUAD_DEV, "bench-squad-dev"),
    "hotpotqa": Spec(
        "hotpotqa",
        SUPPORT,
        "hotpotqa-train100-hipporag/hotpotqa_train_corpus.json",
        "hotpotqa-train100-hipporag/hotpotqa_train.json",
        "bench-hotpotqa",
    ),
    "musique": Spec(
        "musique",
        SUPPORT,
        "musique-train100-hipporag/musique_train_corpus.json",
        "musique-train100-hipporag/musique_train.json",
        "bench-musique",
    ),
}
# ``--smoke``: the bundled XQuAD (48 SQuAD dev articles, 5 paragraphs each) under BUNDLED.
SMOKE = Spec("xquad", ANSWER, "xquad-en/xquad.en.json", "xquad-en/xquad.en.json", "bench-xquad")


def spread(items: Sequence[Any], n: int | None) -> list[Any]:
    """``n`` items taken every k-th (k = len // n), deterministic and spread over the whole list."""
    if n is None or n >= len(items):
        return list(items)
    if n <= 0:
        raise InvalidInput(f"questions must be a positive number, got {n}")
    return list(items[:: max(1, len(items) // n)][:n])


def corpus_documents(spec: Spec, data: Path) -> list[Document]:
    """The whole corpus of a set, with the doc ids its question loader uses for gold paragraphs."""
    path = data / spec.corpus
    rows = iter_squad_paragraphs(path) if spec.kind == ANSWER else iter_hipporag_corpus(path)
    return [Document(doc_id, text, {"source": str(path), "title": title}) for doc_id, title, text in rows]


def load_examples(spec: Spec, data: Path, questions: int | None) -> list[QAExample]:
    """SQuAD: the report half (articles 25-48); multi-hop: the whole file; ``questions`` of them spread evenly."""
    if spec.kind == ANSWER:
        return spread(load_squad(data / spec.questions, articles=SQUAD_REPORT), questions)
    return spread(load_hipporag(data / spec.questions, data / spec.corpus), questions)


def check_ids(engine: Engine, examples: Sequence[QAExample]) -> dict[str, Any]:
    """How many gold doc ids exist in the index: the two id schemes must match or every score is 0."""
    per_doc: dict[str, int] = {}
    for c in engine.index.chunks:
        per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
    gold = [g for ex in examples for g in ex.gold_doc_ids]
    missing = sorted({g for g in gold if g not in per_doc})
    return {
        "gold_ids": len(gold),
        "found": len(gold) - sum(g in missing for g in gold),
        "missing": missing[:10],
        "split": sum(per_doc.get(g, 0) > 1 for g in gold),  # gold paragraphs cut into several chunks
    }
