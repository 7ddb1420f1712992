"""Selection benchmark: every strategy at every budget on SQuAD (answer in context) and multi-hop sets.

Run: ``ragengine bench selection [--questions 1000] [--budgets 128 256 512 1024]
[--strategies greedy dos mmr knapsack mcts] [--out eval/results/selection]`` -> ``<out>.json``,
``<out>.md`` and ``<out>.png``; ``--smoke`` runs 4 bundled XQuAD questions on the fake embedder.

Each question is retrieved once (hybrid RRF, 30 candidates); every strategy and budget then re-runs
only selection on those candidates (``Engine.ask(..., retrieved=r)``, generator "none"), so the
strategies are compared on identical inputs. Scores: SQuAD, the gold answer occurs in the joined
context; HotpotQA / MuSiQue, every supporting paragraph (doc id) has a chunk in the context. Beside
the strategies the report shows an *oracle* (the cheapest set of the 30 candidates that holds the
gold: what any selector could reach at that budget) and the term-coverage reward (the coverage
half of MCTS's default ranked_coverage reward) of every strategy's choice, which tells a search
failure from a reward that points elsewhere.

Indexes are built once under ``indexes/bench-*`` with the default chunking and reused while their
manifest (embedder, tokenizer, chunking, document count) matches. Cost: ~0.6 s per question for 5
strategies x 4 budgets (MCTS is most of it) on 2 cores shared with other jobs, about 12 minutes for
the default 1,200 questions, plus a one-time index build (~3 to 8 minutes per set).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.assemble import candidate_costs, choose
from ragengine.budget import Budget
from ragengine.config import EngineConfig
from ragengine.engine import Engine
from ragengine.errors import InvalidInput
from ragengine.evaluation.datasets import QAExample
from ragengine.evaluation.experiments.selection_sets import (
    BUNDLED,
    DATA,
    SMOKE,
    SPECS,
    check_ids,
    corpus_documents,
    load_examples,
    spread,
)
from ragengine.evaluation.experiments.selection_summary import ANSWER, SUPPORT, goals, summarize
from ragengine.evaluation.indexes import SMOKE_MODELS, ensure_index
from ragengine.evaluation.metrics import all_supporting_in_context, answer_in_context
from ragengine.evaluation.report.selection import write_outputs
from ragengine.select.base import SelectionInput, Selector
from ragengine.select.registry import STRATEGIES
from ragengine.select.rewards import CoverageReward
from ragengine.types import Answer, Retrieved

__all__ = ["ANSWER", "SUPPORT", "bench_dataset", "ensure_index", "evaluate", "finish", "main", "spread"]

log = logging.getLogger(__name__)

BUDGETS = (128, 256, 512, 1024)
MCTS_STATS = ("iterations", "states_scored", "best_reward", "exhausted", "completion_steps", "time_ms")


def _hit(kind: str, ans: Answer, ex: QAExample) -> float:
    if kind == ANSWER:
        return answer_in_context("\n\n".join(c.text for c in ans.citations), ex.answers)
    return all_supporting_in_context([c.doc_id for c in ans.citations], ex.gold_doc_ids)


def _oracle_need(kind: str, r: Retrieved, costs: list[int], ex: QAExample) -> float:
    """Fewest tokens of candidates that hold the gold (inf when the 30 candidates do not)."""
    if kind == ANSWER:
        have = [
            cost for c, cost in zip(r.candidates, costs, strict=True) if answer_in_context(c.chunk.text, ex.answers)
        ]
        return float(min(have)) if have else math.inf
    best: dict[str, int] = {}
    for c, cost in zip(r.candidates, costs, strict=True):
        best[c.chunk.doc_id] = min(cost, best.get(c.chunk.doc_id, cost))
    if any(g not in best for g in ex.gold_doc_ids):
        return math.inf
    return float(sum(best[g] for g in ex.gold_doc_ids))


def evaluate(
    engine: Engine,
    examples: Sequence[QAExample],
    kind: str,
    strategies: Sequence[str],
    budgets: Sequence[int],
    *,
    progress: bool = False,
    desc: str = "",
    engines: Mapping[str, Engine] | None = None,
) -> dict[str, Any]:
    """Per-question columns: ids, oracle need, and per ``strategy@budget`` hit / tokens / ms / chunks / reward.

    ``engines`` maps a strategy to another engine over the same index (``engine.with_config(
    selector_options=...)``): how one strategy runs with non-default options.
    """
    if kind not in (ANSWER, SUPPORT):
        raise InvalidInput(f"kind must be {ANSWER!r} or {SUPPORT!r}, got {kind!r}")
    from tqdm.auto import tqdm

    cols: dict[str, dict[str, list[Any]]] = {f"{s}@{b}": {} for s in strategies for b in budgets}
    out: dict[str, Any] = {"ids": [], "need": [], "candidates": [], "settings": cols, "mcts": {}}
    pipe = engine.pipeline()
    engines = dict(engines or {})
    out["rerun_mismatch"] = 0
    if examples:  # warm up: tokenizer, models and index load outside the timings
        w = engine.retrieve(examples[0].question)
        for s in strategies:
            engines.get(s, engine).ask(examples[0].question, min(budgets), strategy=s, retrieved=w)
    for ex in tqdm(examples, desc=desc or "questions", disable=not progress, mininterval=2.0):
        r = engine.retrieve(ex.question)
        costs = candidate_costs(r.candidates, pipe.stages.counter, pipe.settings.index_tokenizer)
        pos = {c.chunk.chunk_id: i for i, c in enumerate(r.candidates)}
        reward = CoverageReward(SelectionInput(ex.question, r.candidates, costs, max(budgets)))
        need = _oracle_need(kind, r, costs, ex)
        vectors = pipe.chunk_vectors(r.candidates) if r.query_vector is not None else None
        out["ids"].append(ex.id)
        out["need"].append(None if math.isinf(need) else int(need))
        out["candidates"].append(len(r.candidates))
        for s in strategies:
            for b in budgets:
                eng = engines.get(s, engine)
                ans = eng.ask(ex.question, b, strategy=s, retrieved=r)
                col = cols[f"{s}@{b}"]
                chosen = [pos[c.chunk_id] for c in ans.citations]
                cpu_ms, again = _cpu_select(eng, s, ex.question, r, costs, b, vectors)
                out["rerun_mismatch"] += again != chosen[: len(again)] or len(again) < len(chosen)
                for key, value in (
                    ("hit", int(_hit(kind, ans, ex))),
                    ("tokens", ans.cost.context_tokens),
                    ("ms", round(ans.cost.stages["select"].ms, 3)),
                    ("cpu_ms", round(cpu_ms, 3)),
                    ("chunks", len(chosen)),
                    ("reward", round(reward(chosen), 4)),
                    ("rank", round(float(np.mean(chosen)), 2) if chosen else None),
                ):
                    col.setdefault(key, []).append(value)
                if s == "mcts":
                    stats = ans.trace["selection"]["stats"]
                    mc = out["mcts"].setdefault(str(b), {})
                    for key in MCTS_STATS:
                        v = stats.get(key)
                        mc.setdefault(key, []).append(round(v, 3) if isinstance(v, float) else v)
    return out


def _cpu_select(
    engine: Engine, strategy: str, question: str, r: Retrieved, costs: list[int], budget: int, vectors: Any
) -> tuple[float, list[int]]:
    """The selector alone on the pipeline's context budget, in this thread's CPU ms, and the positions it chose."""
    pipe = engine.pipeline(strategy)
    room, why = pipe.context_budget(question, Budget(context_tokens=budget))
    selector: Selector = pipe.selector
    t = time.thread_time()
    sel = choose(question, r.candidates, costs, room, selector, query_vector=r.query_vector,
                 chunk_vectors=vectors, seed=engine.config.seed, reason=why)  # fmt: skip
    cpu = (time.thread_time() - t) * 1000
    pos = {c.chunk.chunk_id: i for i, c in enumerate(r.candidates)}
    return cpu, [pos[c.chunk.chunk_id] for c in sel.chosen]


def bench_dataset(
    name: str,
    kind: str,
    engine: Engine,
    examples: Sequence[QAExample],
    strategies: Sequence[str],
    budgets: Sequence[int],
    *,
    seed: int = 0,
    resamples: int = 1000,
    progress: bool = False,
    engines: Mapping[str, Engine] | None = None,
) -> dict[str, Any]:
    """One set end to end: id check, evaluation, summary (all that ``results['datasets'][name]`` holds)."""
    ids = check_ids(engine, examples)
    print(f"[{name}] id check: {ids['found']}/{ids['gold_ids']} gold doc ids are in the index", file=sys.stderr)
    if ids["missing"]:
        print(f"[{name}] WARNING: missing gold ids, e.g. {ids['missing']}", file=sys.stderr)
    t = time.perf_counter()
    run = evaluate(engine, examples, kind, strategies, budgets, progress=progress, desc=name, engines=engines)
    secs = time.perf_counter() - t
    m = engine.manifest
    return {
        "kind": kind,
        "index": {"name": m.name, "n_chunks": m.n_chunks, "n_documents": m.n_documents, "version": m.version},
        "id_check": ids,
        "seconds": round(secs, 1),
        "summary": summarize(run, strategies, budgets, seed=seed, resamples=resamples),
        "records": run,
    }


def finish(
    sets: dict[str, Any], strategies: Sequence[str], budgets: Sequence[int], meta: dict[str, Any]
) -> dict[str, Any]:
    """The results document: meta, every set, and the goals judged on them."""
    results: dict[str, Any] = {
        "meta": {**meta, "strategies": list(strategies), "budgets": list(budgets)},
        "datasets": sets,
    }
    results["goals"] = goals(results, budgets)
    return results


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragengine bench selection", description=__doc__.split("\n")[0])
    p.add_argument("--questions", type=int, default=1000, help="SQuAD questions (articles 25-48, spread evenly)")
    p.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    p.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    p.add_argument("--datasets", nargs="+", default=list(SPECS), choices=list(SPECS))
    p.add_argument("--multihop-questions", type=int, default=None, help="cap on HotpotQA / MuSiQue questions")
    p.add_argument("--out", type=Path, default=Path("eval/results/selection"))
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--indexes", type=Path, default=None, help="where the bench indexes live (default indexes/)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the bench indexes even if they match")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument(
        "--mcts-options", type=json.loads, default={}, help="MCTS options as JSON, e.g. '{\"iterations\": 500}'"
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="4 questions of the bundled XQuAD at budgets 64 and 128, hash embedder, whitespace tokens, "
        "indexes beside --out (seconds; checks the bench runs, measures nothing)",
    )
    return p


def run(a: argparse.Namespace, argv: Sequence[str] | None, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """The benchmark for parsed options ``a``: every set's results, the goals, and the run's meta."""
    budgets = sorted(set(a.budgets))
    specs, data = {n: SPECS[n] for n in a.datasets}, a.data
    index_opts: dict[str, Any] = {}
    indexes = a.indexes or Path("indexes")
    if a.smoke:
        specs, data, budgets = {SMOKE.name: SMOKE}, BUNDLED, [64, 128]
        index_opts = SMOKE_MODELS
        a.questions, a.resamples, indexes = 4, 200, a.indexes or a.out.parent / "indexes"
    meta = {
        "command": "ragengine bench selection " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_start": _load(),
        "candidates": EngineConfig().candidates,
        "seed": a.seed,
        "questions": a.questions,
        "mcts_options": a.mcts_options,
    }
    sets: dict[str, Any] = {}
    for name, spec in specs.items():
        folder = ensure_index(corpus_documents(spec, data), spec.index, indexes, rebuild=a.rebuild, **index_opts)
        engine = Engine.from_index(folder, generator="none", config=EngineConfig(seed=a.seed))
        engines = {"mcts": engine.with_config(selector_options={"mcts": a.mcts_options})} if a.mcts_options else {}
        meta["chunking"] = engine.manifest.chunking.get("chunk_size")
        n = a.questions if spec.kind == ANSWER else a.multihop_questions
        examples = load_examples(spec, data, n)
        sets[name] = bench_dataset(
            name, spec.kind, engine, examples, a.strategies, budgets,
            seed=a.seed, resamples=a.resamples, progress=not a.smoke, engines=engines,
        )  # fmt: skip
        echo(f"[{name}] {len(examples)} questions in {sets[name]['seconds']} s")
    meta["load_end"] = _load()
    return finish(sets, a.strategies, budgets, meta)


def main(argv: Sequence[str] | None = None) -> int:
    """``ragengine bench selection ...``: run, write ``<out>.json/.md/.png``; 0 when the report is written."""
    p = _parser()
    a = p.parse_args(argv)
    if any(b <= 0 for b in a.budgets):
        p.error(f"budgets must be positive, got {a.budgets}")
    if not isinstance(a.mcts_options, dict):
        p.error(f"--mcts-options must be a JSON object, got {a.mcts_options!r}")
    logging.basicConfig(level=logging.WARNING)
    for path in write_outputs(run(a, argv), a.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
