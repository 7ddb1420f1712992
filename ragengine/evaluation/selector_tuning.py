"""Tune the MCTS reward (``ranked_coverage``: alpha, decay) on the SQuAD tune half only.

Run: ``python -m ragengine.evaluation.selector_tuning [--questions 300]`` -> ``eval/results/selector-tuning.{json,md}``.
Questions come from SQuAD v1.1 dev articles 1-24 (never the report half, 25-48); the corpus is
all 2,067 dev paragraphs (the ``indexes/bench-squad-dev`` index of the selection benchmark, built
if missing). Each question is retrieved once; every setting re-runs only the selection. The score
is the mean share of questions whose context holds a gold answer over budgets 128, 256 and 512.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from tqdm import tqdm

from ragengine.engine import Engine
from ragengine.evaluation.datasets import SQUAD_TUNE, load_squad
from ragengine.evaluation.metrics import answer_in_context
from ragengine.select.registry import get_selector

SQUAD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json"
BUDGETS = (128, 256, 512)
ALPHAS = (0.25, 0.5, 0.75)
DECAYS = (0.5, 0.7, 0.85)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ragengine.evaluation.selector_tuning")
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--squad", default=str(SQUAD))
    ap.add_argument("--index", default="indexes/bench-squad-dev")
    ap.add_argument("--out", default="eval/results/selector-tuning")
    args = ap.parse_args(argv)
    if not (Path(args.index) / "manifest.json").is_file():
        from ragengine.evaluation.selection_bench import main as bench_main

        bench_main(["--datasets", "squad-dev", "--questions", "1", "--out", "/tmp/selector-tuning-build"])
    exs = load_squad(args.squad, articles=SQUAD_TUNE)
    step = max(1, len(exs) // args.questions)
    exs = exs[::step][: args.questions]
    eng = Engine.from_index(args.index, generator="none")
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
        per_budget: dict[int, float] = {}
        for b in BUDGETS:
            hits = 0.0
            for ex, ret in zip(exs, retrieved, strict=True):
                ans = eng.ask(ex.question, b, selector=sel, retrieved=ret)
                hits += answer_in_context("\n\n".join(c.text for c in ans.citations), ex.answers)
            per_budget[b] = hits / len(exs)
        rows.append(
            {
                "strategy": strategy,
                "options": opts,
                "recall": per_budget,
                "mean": sum(per_budget.values()) / len(BUDGETS),
            }
        )
    best = max((r for r in rows if r["options"].get("reward") == "ranked_coverage"), key=lambda r: r["mean"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "questions": len(exs),
                "split": "SQuAD v1.1 dev articles 1-24",
                "budgets": BUDGETS,
                "rows": rows,
                "best": best,
            },
            indent=2,
        )
    )
    lines = [
        f"# MCTS reward tuning (SQuAD v1.1 dev articles 1-24, {len(exs)} questions)",
        "",
        "Gold answer in the selected context; corpus = all 2,067 dev paragraphs, 128-token chunks, "
        "hybrid RRF, 30 candidates. Tune half only: the report half (articles 25-48) is never used here.",
        "",
        "| strategy | reward options | " + " | ".join(f"@{b}" for b in BUDGETS) + " | mean |",
        "|---|---|" + "---|" * (len(BUDGETS) + 1),
    ]
    for r in rows:
        cells = " | ".join(f"{r['recall'][b]:.3f}" for b in BUDGETS)
        lines.append(f"| {r['strategy']} | `{json.dumps(r['options'])}` | {cells} | {r['mean']:.3f} |")
    lines += ["", f"Chosen default: `{json.dumps(best['options'])}` (best mean)."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
