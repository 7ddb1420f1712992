"""Evidence benchmark: sentence-level selection against chunk-level baselines, at every budget.

Run: ``ragengine bench evidence [--questions 1000] [--split report|tune] [--out eval/results/evidence]``
-> ``<out>.json``, ``<out>.md`` and ``<out>.png``.

Each question is retrieved once per retrieval mode (hybrid + term re-rank, the default; dense only;
BM25 only; 30 candidates each). Every method then re-runs only selection on those candidates
(``Engine.ask(..., retrieved=r)``, no generator), so methods are compared on identical inputs:

- chunk level: ``topk`` (rank order, stop at the first that does not fit), ``greedy`` (rank
  order, skip what does not fit), ``mcts`` (today's default reward), ``mcts-evidence`` (MCTS
  whose reward is the evidence noisy-or of the chunks' sentences), ``dense`` and ``bm25``
  (greedy over dense-only / BM25-only candidates);
- sentence level, one shared scorer: ``evidence`` (greedy by noisy-or gain per token, adaptive
  stop), ``evidence-full`` (the same without the adaptive stop), ``evidence-rank``
  (LongLLMLingua-style rank-and-truncate) and ``evidence-prune`` (Provence-style threshold
  pruning, then truncation);
- ``oracle``: the cheapest single chunk that holds the gold (SQuAD) or the cheapest chunk per
  supporting document (multi-hop), over the hybrid candidates.

Scores: SQuAD, the gold answer occurs in the context; HotpotQA / MuSiQue, every supporting
paragraph has text in it. ``--split tune`` uses SQuAD articles 19-24 (the scorer's validation
half) instead of the report half 25-48: settings are chosen there, never on the report half.
Latency: the select stage's wall clock and the process CPU time of each evidence call.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.assemble import candidate_costs
from ragengine.config import EngineConfig
from ragengine.engine import Engine
from ragengine.evaluation.baselines import TopKSelector
from ragengine.evaluation.datasets import QAExample, load_squad
from ragengine.evaluation.experiments.selection import _hit, _oracle_need
from ragengine.evaluation.experiments.selection_sets import (
    BUNDLED,
    DATA,
    SMOKE,
    SPECS,
    Spec,
    corpus_documents,
    load_examples,
    spread,
)
from ragengine.evaluation.experiments.selection_summary import ANSWER
from ragengine.evaluation.indexes import SMOKE_MODELS, ensure_index
from ragengine.evaluation.stats import bootstrap_ci, paired_bootstrap
from ragengine.select.evidence import EvidenceSelector
from ragengine.types import Retrieved

BUDGETS = (64, 128, 192, 256, 512, 1024)
CHUNK_METHODS = ("topk", "greedy", "mcts", "mcts-evidence", "dense", "bm25")
EVIDENCE_METHODS = ("evidence", "evidence-full", "evidence-rank", "evidence-prune")
METHODS = (*CHUNK_METHODS, *EVIDENCE_METHODS)
TUNE_ARTICLES = (19, 24)


def _selectors(counter: Any, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "topk": TopKSelector(),
        "evidence": EvidenceSelector(counter, **options),
        "evidence-full": EvidenceSelector(counter, **{**options, "min_gain": 0.0}),
        "evidence-rank": EvidenceSelector(counter, mode="rank"),
        "evidence-prune": EvidenceSelector(counter, mode="prune"),
    }


def evaluate(
    engines: dict[str, Engine],
    examples: Sequence[QAExample],
    kind: str,
    methods: Sequence[str],
    budgets: Sequence[int],
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Per-question columns per ``method@budget``: hit, context tokens, select ms, CPU ms, stop reason."""
    from tqdm.auto import tqdm

    main = engines["hybrid"]
    pipe = main.pipeline()
    selectors = _selectors(pipe.stages.counter, options or {})
    cols: dict[str, dict[str, list[Any]]] = {f"{m}@{b}": {} for m in methods for b in budgets}
    out: dict[str, Any] = {"ids": [], "need": [], "settings": cols}
    for ex in tqdm(examples, desc=kind, mininterval=5.0):
        got: dict[str, Retrieved] = {"hybrid": main.retrieve(ex.question)}
        for mode in ("dense", "bm25"):
            if mode in methods:
                got[mode] = engines[mode].retrieve(ex.question)
        r = got["hybrid"]
        costs = candidate_costs(r.candidates, pipe.stages.counter, pipe.settings.index_tokenizer)
        need = _oracle_need(kind, r, costs, ex)
        out["ids"].append(ex.id)
        out["need"].append(None if math.isinf(need) else int(need))
        for m in methods:
            for b in budgets:
                eng = engines.get(m, main)
                given = got.get(m, r)
                sel = selectors.get(m)
                cpu = time.process_time()
                if sel is not None:
                    ans = eng.ask(ex.question, b, selector=sel, retrieved=given)
                else:
                    ans = eng.ask(
                        ex.question, b, strategy="mcts" if m.startswith("mcts") else "greedy", retrieved=given
                    )
                cpu_ms = (time.process_time() - cpu) * 1000
                stats = ans.trace["selection"]["stats"]
                col = cols[f"{m}@{b}"]
                for key, value in (
                    ("hit", int(_hit(kind, ans, ex))),
                    ("tokens", ans.cost.context_tokens),
                    ("ms", round(ans.cost.stages["select"].ms, 3)),
                    ("cpu_ms", round(cpu_ms, 3)),
                    ("stopped", stats.get("stopped", "")),
                    ("sufficient", stats.get("sufficient")),
                ):
                    col.setdefault(key, []).append(value)
    return out


def summarize(res: dict[str, Any], methods: Sequence[str], budgets: Sequence[int], resamples: int) -> dict[str, Any]:
    """Means with 95% intervals, paired differences against greedy, the oracle and latency quantiles."""
    table: dict[str, Any] = {}
    need = [math.inf if n is None else n for n in res["need"]]
    for b in budgets:
        row: dict[str, Any] = {"oracle": round(float(np.mean([n <= b for n in need])), 4) if need else 0.0}
        base = res["settings"].get(f"greedy@{b}", {}).get("hit")
        for m in methods:
            col = res["settings"][f"{m}@{b}"]
            mean, lo, hi = bootstrap_ci(col["hit"], n_resamples=resamples)
            cell: dict[str, Any] = {
                "hit": round(mean, 4),
                "ci": [round(lo, 4), round(hi, 4)],
                "tokens": round(float(np.mean(col["tokens"])), 1),
            }
            if base is not None and m != "greedy":
                d = paired_bootstrap(col["hit"], base, n_resamples=resamples)
                cell["vs_greedy"] = {k: round(v, 4) for k, v in d.items()}
            if m.startswith("evidence"):
                ms, cpu = np.asarray(col["ms"]), np.asarray(col["cpu_ms"])
                cell["ms_p50"], cell["ms_p95"] = (
                    round(float(np.quantile(ms, 0.5)), 2),
                    round(float(np.quantile(ms, 0.95)), 2),
                )
                cell["cpu_ms_p50"], cell["cpu_ms_p95"] = (
                    round(float(np.quantile(cpu, 0.5)), 2),
                    round(float(np.quantile(cpu, 0.95)), 2),
                )
                cell["adaptive_stops"] = sum(s == "adaptive" for s in col["stopped"])
            row[m] = cell
        table[str(b)] = row
    return table


def _options(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key.strip()] = float(value) if value.replace(".", "", 1).isdigit() else value
    return out


def _examples(spec: Spec, data: Path, split: str, n: int | None) -> list[QAExample]:
    if spec.kind == ANSWER and split == "tune":
        return spread(load_squad(data / spec.questions, articles=TUNE_ARTICLES), n)
    return load_examples(spec, data, n if spec.kind == ANSWER else None)


def run(a: argparse.Namespace, argv: Sequence[str] | None) -> dict[str, Any]:
    budgets = sorted(set(a.budgets))
    sets: dict[str, Any] = {}
    specs, data, index_opts = {n: SPECS[n] for n in a.datasets}, DATA, {}
    if a.smoke:  # the bundled XQuAD on the fake embedder: seconds, for tests
        specs, data, index_opts, budgets = {SMOKE.name: SMOKE}, BUNDLED, SMOKE_MODELS, [64, 128]
        a.questions, a.resamples, a.indexes = 4, 50, a.out.parent / "indexes"
    for name, spec in specs.items():
        folder = ensure_index(corpus_documents(spec, data), spec.index, a.indexes, progress=False, **index_opts)
        hybrid = Engine.from_index(folder, generator="none", config=EngineConfig())
        engines = {
            "hybrid": hybrid,
            "dense": hybrid.with_config(retrieval="dense", reranker="none"),
            "bm25": hybrid.with_config(retrieval="bm25", reranker="none"),
            "mcts-evidence": hybrid.with_config(selector_options={"mcts": {"reward": "evidence"}}),
        }
        examples = _examples(spec, data, a.split, a.questions)
        t = time.perf_counter()
        res = evaluate(engines, examples, spec.kind, a.methods, budgets, _options(a.option))
        sets[name] = {
            "kind": spec.kind,
            "questions": len(examples),
            "seconds": round(time.perf_counter() - t, 1),
            "summary": summarize(res, a.methods, budgets, a.resamples),
            "columns": res,
        }
        print(f"[{name}] {len(examples)} questions in {sets[name]['seconds']} s", flush=True)
    meta = {
        "command": "ragengine bench evidence " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "split": a.split,
        "budgets": budgets,
        "methods": list(a.methods),
        "evidence_options": _options(a.option),
    }
    return {"meta": meta, "sets": sets}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragengine bench evidence", description=__doc__.split("\n")[0])
    p.add_argument("--questions", type=int, default=1000, help="SQuAD questions (spread evenly)")
    p.add_argument("--split", choices=("report", "tune"), default="report")
    p.add_argument("--datasets", nargs="+", default=list(SPECS), choices=list(SPECS))
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--budgets", nargs="+", type=int, default=list(BUDGETS))
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="an EvidenceSelector option for evidence and evidence-full, e.g. spread=0.5")  # fmt: skip
    p.add_argument("--indexes", type=Path, default=Path("indexes"))
    p.add_argument("--out", type=Path, default=Path("eval/results/evidence"))
    p.add_argument("--smoke", action="store_true", help="4 bundled XQuAD questions on the fake embedder (a test)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from ragengine.evaluation.report.evidence import write_outputs

    a = _parser().parse_args(argv)
    results = run(a, argv)
    for path in write_outputs(results, a.out):
        print(path)
    return 0
