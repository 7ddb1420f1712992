"""The performance benchmark's corpora (exact chunk targets from real data) and its report (targets judged right)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragengine.evaluation.experiments.perf_corpora import load_corpus
from ragengine.evaluation.experiments.selection_sets import DATA
from ragengine.evaluation.report.perf import render_markdown, write_outputs
from ragengine.ingest.chunking import Chunker
from ragengine.tokens import get_token_counter


def test_the_5k_corpus_chunks_to_its_target_from_real_text() -> None:
    if not (DATA / "squad-v1.1-dev").is_dir():
        pytest.skip(f"benchmark data not found at {DATA}")
    chunker = Chunker(get_token_counter("whitespace"), 128, 16)
    docs, chunks = load_corpus("5k", chunker)
    assert 4_990 <= len(chunks) <= 5_000
    assert {c.doc_id for c in chunks} == {d.doc_id for d in docs}
    assert not any(d.doc_id.startswith("synthetic") for d in docs)  # 5k chunks of real text exist


def _phase(wall: float, peak: int = 600, **extra: object) -> dict[str, object]:
    return {"wall_s": wall, "cpu_s": 2 * wall, "rss_before_mb": 300, "peak_rss_mb": peak, "result": {}, **extra}


def _corpus(raw: float, build: float, clusters: float, add: float) -> dict[str, object]:
    up = {"chunks_embedded": 0}
    return {
        "chunks": 1000,
        "documents": 500,
        "raw_encoder": _phase(raw),
        "build": _phase(build, index_mb=3.0, throughput_ratio=round(raw / build, 3)),
        "build_clusters": _phase(clusters, index_mb=4.0, throughput_ratio=round(raw / clusters, 3)),
        "noop": {**_phase(0.1), "result": up},
        "noop_clusters": {**_phase(0.1), "result": up},
        "add_one": {**_phase(add), "result": {"chunks_embedded": 1}, "share_of_full_build": round(add / build, 4)},
        "add_one_clusters": {
            **_phase(add),
            "result": {"chunks_embedded": 1},
            "share_of_full_build": round(add / clusters, 4),
        },
        "query": {
            "questions": 100,
            "engine_total_ms": {"p50": 15.0, "p95": 18.0},
            "stages_ms": {"retrieve": {"p50": 5.0, "p95": 6.0}},
            "raw_ms": {"p50": 3.0, "p95": 4.0},
            "overhead_ratio_p50": 5.0,
        },
    }


def test_the_report_judges_each_target(tmp_path: Path) -> None:
    doc = {
        "created": "now",
        "command": "ragengine bench perf",
        "machine": {"cpus": 2},
        "corpora": {"squad": _corpus(10.0, 10.5, 13.0, 0.9)},
    }
    md = render_markdown(doc)
    assert "0.952 (met, target >= 0.9)" in md  # 10 / 10.5
    assert "0.769 (missed, target >= 0.8)" in md  # 10 / 13
    assert "0.0857 (missed" not in md and "0.086 (missed, target <= 0.05)" in md  # 0.9 / 10.5
    paths = write_outputs(doc, tmp_path / "perf")
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
