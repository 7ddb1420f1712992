"""Tune the MCTS reward (``ranked_coverage``: alpha, decay) on the SQuAD tune half only.

Run: ``ragengine bench selector-tuning [--questions 300]`` -> ``eval/results/selector-tuning.{json,md}``.
Questions come from SQuAD v1.1 dev articles 1-24 (never the report half, 25-48); the corpus is
all 2,067 dev paragraphs (the ``indexes/bench-squad-dev`` index of the selection benchmark, built
if missing). Each question is retrieved once; every setting re-runs only the selection. The score
is the mean share of questions whose context holds a gold answer over budgets 128, 256 and 512.
``--smoke``: 3 bundled XQuAD questions on the fake embedder (seconds). Cost: about a minute per
100 questions for the 11 settings on 2 cores, plus the index build when it is missing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ragengine.engine import Engine
from ragengine.evaluation.datasets import SQUAD_TUNE, load_squad
from ragengine.evaluation.experiments.selection_sets import ANSWER, BUNDLED, SMOKE, Spec, corpus_documents
from ragengine.evaluation.indexes import SMOKE_MODELS, ensure_index
from ragengine.evaluation.metrics import answer_in_context
from ragengine.evaluation.report.tuning import render_selector_tuning
from ragengine.select.registry import get_selector

SQUAD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json"
BUDGETS = (128, 256, 512)
ALPHAS = (0.25, 0.5, 0.75)
DECAYS = (0.5, 0.7, 0.85)


def tune(eng: Engine, squad: str | Path, questions: int) -> dict[str, Any]:
    """Every setting's recall at each budget on ``questions`` tune-half questions, and the best setting."""
    exs = load_squad(squad, articles=SQUAD_TUNE)
    step = max(1, len(exs) // questions)
    exs = exs[::step][:questions]
    retrieved = [eng.retrieve(ex.question) for ex in tqdm(exs, desc="retrieving", file=sys.stderr)]
    settings: list[tuple[str, dict]] = [("greedy", {})]
    settings += [("mcts", {"reward": "coverage"})]
    settings += [
        ("mcts", {"reward": "ranked_coverage", "reward_options": {"alpha": a, "decay": d}})
        for a, d in itertools.product(ALPHAS, DECAYS)
    ]
    rows = []
    for strategy, opts in tqdm(settings, desc="settings", file=sys.stderr):
        sel = get_selector(strategy, **opts)
        per_budget: dict[str, float] = {}
        for b in BUDGETS:
            hits = 0.0
            for ex, ret in zip(exs, retrieved, strict=True):
                ans = eng.ask(ex.question, b, selector=sel, retrieved=ret)
                hits += answer_in_context("\n\n".join(c.text for c in ans.citations), ex.answers)
            per_budget[str(b)] = hits / len(exs)
        mean = sum(per_budget.values()) / len(BUDGETS)
        rows.append({"strategy": strategy, "options": opts, "recall": per_budget, "mean": mean})
    best = max((r for r in rows if r["options"].get("reward") == "ranked_coverage"), key=lambda r: r["mean"])
    split = "SQuAD v1.1 dev articles 1-24"
    return {"questions": len(exs), "split": split, "budgets": BUDGETS, "rows": rows, "best": best}


def main(argv: list[str] | None = None) -> int:
    """``ragengine bench selector-tuning ...``: writes ``<out>.json`` and ``<out>.md``; 0 when written."""
    ap = argparse.ArgumentParser(prog="ragengine bench selector-tuning", description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--squad", default=str(SQUAD))
    ap.add_argument("--index", default="indexes/bench-squad-dev")
    ap.add_argument("--out", default="eval/results/selector-tuning")
    ap.add_argument("--smoke", action="store_true", help="3 bundled XQuAD questions, fake embedder, index beside --out")
    args = ap.parse_args(argv)
    squad, index = Path(args.squad), Path(args.index)
    opts: dict[str, Any] = {}
    if args.smoke:
        squad, index = BUNDLED / SMOKE.questions, Path(args.out).parent / "indexes" / SMOKE.index
        args.questions, opts = 3, SMOKE_MODELS
    if args.smoke or not (index / "manifest.json").is_file():
        spec = Spec(index.name, ANSWER, squad.name, squad.name, index.name)
        ensure_index(corpus_documents(spec, squad.parent), index.name, index.parent, **opts)
    doc = tune(Engine.from_index(index, generator="none"), squad, args.questions)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(doc, indent=2))
    text = render_selector_tuning(doc)
    out.with_suffix(".md").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
