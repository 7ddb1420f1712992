"""One corpus of the performance benchmark, measured in one fresh process (run by ``perf.py``).

Every figure is a ratio against a baseline run in this same process on the same texts:

- index: the raw encoder (the int8 MiniLM session with its tokenizer and mean pooling,
  ``OnnxMiniLM.embed``) against ``Engine.build_index`` without and with clusters: throughput
  ratio, wall and CPU seconds, and the peak RSS of each phase (``VmHWM``, reset between phases
  through ``/proc/self/clear_refs``), beside the index's size on disk;
- update: ``index`` again with nothing changed, and ``add`` of one new document, against the
  full build;
- query: warm per-stage latency of ``Engine.ask`` (no generation) against a raw pipeline
  (encoder + FAISS flat + bm25s, the same candidate count) on the same questions;
- cold start: a new ``ragengine ask`` process to its first answer, and its phases.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.evaluation.experiments.perf_corpora import load_corpus

QUESTIONS = 100


def _hwm_reset() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    return 0


def _phase(fn: Any) -> dict[str, Any]:
    _hwm_reset()
    rss0 = _status("VmRSS")
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return {
        "wall_s": round(time.perf_counter() - t, 3),
        "cpu_s": round(time.process_time() - c, 3),
        "rss_before_mb": rss0,
        "peak_rss_mb": _status("VmHWM"),
        "result": out,
    }


def _size_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 2)


def _raw_phase(raw: Any, texts: list[str]) -> dict[str, Any]:
    """The raw encoder over ``texts``, its session loaded first; the session is freed on return."""
    raw.embed(texts[:16])  # the baseline is the encoder's steady state, not its loading
    return _phase(lambda: raw.embed(texts).shape[0])


def index_phases(corpus: str, root: Path) -> tuple[dict[str, Any], list[Any]]:
    from ragengine import BuildReport, Engine
    from ragengine.embed.onnx_minilm import OnnxMiniLM
    from ragengine.ingest.chunking import Chunker
    from ragengine.tokens import get_token_counter

    chunker = Chunker(get_token_counter("smollm2-135m-instruct"), 128, 16)
    docs, chunks = load_corpus(corpus, chunker)
    texts = [c.text for c in chunks]
    res: dict[str, Any] = {"corpus": corpus, "documents": len(docs), "chunks": len(chunks)}
    res["raw_encoder"] = _raw_phase(OnnxMiniLM(), texts)
    del texts, chunks
    for key, clusters in (("build", False), ("build_clusters", True)):
        name = "p" if not clusters else "c"
        rep = BuildReport()
        ph = _phase(
            lambda n=name, c=clusters, r=rep: Engine.build_index(
                docs, n, root=root, clusters=c, rebuild=True, build_report=r
            )
        )
        ph["result"] = rep.to_dict()
        ph["index_mb"] = _size_mb(root / name)
        ph["throughput_ratio"] = round(res["raw_encoder"]["wall_s"] / ph["wall_s"], 3)
        ph["cpu_ratio"] = round(res["raw_encoder"]["cpu_s"] / ph["cpu_s"], 3)
        res[key] = ph
    return res, docs


def update_phases(docs: list[Any], root: Path, res: dict[str, Any]) -> None:
    from ragengine import BuildReport, Engine
    from ragengine.types import Document

    for key, name, clusters in (("noop", "p", False), ("noop_clusters", "c", True)):
        rep = BuildReport()
        ph = _phase(
            lambda n=name, c=clusters, r=rep: Engine.build_index(docs, n, root=root, clusters=c, build_report=r)
        )
        ph["result"] = rep.to_dict()
        res[key] = ph
    new = Document(
        "perf-new-document",
        "Zorblat is a fictional city on Mars, founded in 2101 by the engineer Mira Castellanos. "
        "Its main export is frozen water mined from the polar caps, shipped to Earth orbit twice a year.",
        {"title": "Zorblat"},
    )
    for key, name, full in (("add_one", "p", "build"), ("add_one_clusters", "c", "build_clusters")):
        engine = Engine.from_index(name, root=root, generator="none")
        ph = _phase(lambda: engine.add_documents([new]).to_dict())  # noqa: B023
        ph["share_of_full_build"] = round(ph["wall_s"] / res[full]["wall_s"], 4)
        res[key] = ph


def query_phases(corpus: str, root: Path, res: dict[str, Any]) -> None:
    from ragengine import Budget, Engine
    from ragengine.evaluation.datasets import load_squad
    from ragengine.evaluation.experiments.selection_sets import BUNDLED, DATA
    from ragengine.index.bm25 import BM25Index
    from ragengine.index.dense import DenseIndex
    from ragengine.index.store import LoadedIndex

    if corpus == "smoke":  # the bundled questions: the suite runs where ../shared/data is absent
        qs = [q.question for q in load_squad(BUNDLED / "xquad-en" / "xquad.en.json")][:10]
    else:
        qs = [q.question for q in load_squad(DATA / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json", (25, 48))]
        qs = qs[::7][:QUESTIONS]
    engine = Engine.from_index("p", root=root, generator="none").warm_up()
    engine.ask(qs[0], Budget(context_tokens=256))
    stages: dict[str, list[float]] = {}
    totals = []
    for q in qs:
        t = time.perf_counter()
        ans = engine.ask(q, Budget(context_tokens=256))
        totals.append((time.perf_counter() - t) * 1000)
        for s, v in ans.cost.to_dict()["stages"].items():
            stages.setdefault(s, []).append(float(v["ms"]))
    idx = engine.index
    if not isinstance(idx, LoadedIndex):
        raise TypeError("the perf bench measures local indexes only")
    dense = DenseIndex.build(idx.dense.all_vectors(), "flat")
    bm25 = BM25Index.load(idx.folder)
    enc = engine.embedder
    raw = []
    for q in qs:
        t = time.perf_counter()
        v = enc.embed([q])
        dense.search(v, 30)
        bm25.search([q], 30)
        raw.append((time.perf_counter() - t) * 1000)

    def pct(xs: list[float]) -> dict[str, float]:
        return {"p50": round(float(np.percentile(xs, 50)), 2), "p95": round(float(np.percentile(xs, 95)), 2)}

    res["query"] = {
        "questions": len(qs),
        "engine_total_ms": pct(totals),
        "stages_ms": {s: pct(v) for s, v in stages.items()},
        "raw_ms": pct(raw),
        "overhead_ratio_p50": round(float(np.percentile(totals, 50) / np.percentile(raw, 50)), 2),
    }


# Where a build's time goes: profiler self-time grouped by what the code does.
GROUPS = (
    ("encoder (onnxruntime run)", ("onnxruntime_pybind11_state.run", "InferenceSession.run")),
    ("SmolLM2 token counting (llama.cpp)", ("llama_cpp",)),
    ("MiniLM tokenizer", ("encode_batch",)),
    ("sentence splitting (llama-index)", ("llama_index", "node_parser")),
    ("BM25 build (bm25s)", ("bm25s",)),
    ("FAISS build", ("faiss",)),
    ("k-means + cluster summaries", ("ragengine/cluster/",)),
    ("term weights + pooling (numpy)", ("ragengine/rerank/",)),
)


def profile_build(docs: list[Any], root: Path) -> dict[str, float]:
    """Self time of a clustered rebuild under cProfile, grouped by ``GROUPS`` (the rest is "other")."""
    import cProfile
    import pstats

    from ragengine import Engine

    prof = cProfile.Profile()
    prof.enable()
    Engine.build_index(docs, "prof", root=root, clusters=True, rebuild=True)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    out: dict[str, float] = {name: 0.0 for name, _ in GROUPS}
    out["other"] = 0.0
    for (file, _, func), (_, _, tottime, _, _) in stats.items():
        where = f"{file}:{func}"
        group = next((name for name, keys in GROUPS if any(k in where for k in keys)), "other")
        out[group] += tottime
    return {k: round(v, 3) for k, v in out.items()}


COLD = """
import json, sys, time
t0 = time.perf_counter()
from ragengine import Budget, Engine
t1 = time.perf_counter()
e = Engine.from_index(sys.argv[1], root=sys.argv[2], generator="extractive")
t2 = time.perf_counter()
a = e.ask("When was Sky Digital launched?", Budget(context_tokens=256))
t3 = time.perf_counter()
e.ask("Who did Tesla partner with in 1886?", Budget(context_tokens=256))
t4 = time.perf_counter()
stages = {k: v["ms"] for k, v in a.cost.to_dict()["stages"].items()}
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "first_ask_s": t3 - t2, "second_ask_s": t4 - t3,
                  "first_ask_stages_ms": stages}))
"""


def cold_start(root: Path, res: dict[str, Any]) -> None:
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD, "p", str(root)], capture_output=True, text=True, check=True)
        info = json.loads(out.stdout.strip().splitlines()[-1])
        info["process_s"] = time.perf_counter() - t
        runs.append(info)
    best = sorted(runs, key=lambda r: r["process_s"])[1]
    res["cold_start"] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in best.items()}
    cli = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ragengine", "ask", "p", "When was Sky Digital launched?", "--root", str(root),
             "--generator", "extractive"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        cli.append(time.perf_counter() - t)
    res["cold_start"]["cli_median_s"] = round(float(np.median(cli)), 3)


def main(argv: list[str]) -> int:
    """``perf_worker CORPUS [KEEP_ROOT]``: with KEEP_ROOT the indexes are built there and kept."""
    corpus = argv[0]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="ragengine-perf-") as tmp:
        root = Path(argv[1]) if len(argv) > 1 else Path(tmp)
        res, docs = index_phases(corpus, root)
        update_phases(docs, root, res)
        query_phases(corpus, root, res)
        if corpus == "demo":
            cold_start(root, res)
        if corpus == "squad":
            res["profile"] = profile_build(docs, root)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
