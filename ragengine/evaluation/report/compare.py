"""Compare settings of two eval reports on the questions both answered (paired bootstrap).

    python -m ragengine.evaluation.report.compare BASE.json OTHER.json [--dataset NAME] [--metric answer_accuracy]

Two eval configs that share a dataset (same questions, seed and reader) but not an index, e.g.
squad-accuracy-per-token (plain chunks) and squad-crag-low-budget (CRAG clusters), cannot share one
report; this prints, as markdown, every setting of both with its accuracy, context and prompt
tokens on the common questions, and each OTHER setting paired against BASE's best setting of
each strategy and against every BASE setting that sends more prompt tokens. Cost: reading both
JSON files and one paired bootstrap per compared pair (seconds).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ragengine.evaluation.report import tables
from ragengine.evaluation.stats import bootstrap_ci, paired_bootstrap


def settings(path: Path, dataset: str, metric: str) -> dict[str, dict[str, dict[str, float]]]:
    """setting label -> question id -> {metric, context_tokens, prompt_tokens}."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for r in doc["records"]:
        if r["dataset"] != dataset or metric not in r["scores"]:
            continue
        label = r["strategy"] if r["budget"] is None else f"{r['strategy']}@{r['budget']}"
        out[label][r["id"]] = {
            "score": float(r["scores"][metric]),
            "context": float(r["context_tokens"]),
            "prompt": float(r["prompt_tokens"]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m ragengine.evaluation.report.compare", description=__doc__.splitlines()[0]
    )
    p.add_argument("base", type=Path)
    p.add_argument("other", type=Path)
    p.add_argument("--dataset", default="squad-report-300")
    p.add_argument("--metric", default="answer_accuracy")
    args = p.parse_args(argv)
    a = settings(args.base, args.dataset, args.metric)
    b = settings(args.other, args.dataset, args.metric)
    every = [*a.values(), *b.values()]
    common = sorted(set.intersection(*(set(s) for s in every))) if every else []
    if not common:
        print("no question was answered under every setting of both reports")
        return 1

    def row(s: dict[str, dict[str, float]]) -> tuple[np.ndarray, float, float]:
        return (
            np.array([s[q]["score"] for q in common]),
            float(np.mean([s[q]["context"] for q in common])),
            float(np.mean([s[q]["prompt"] for q in common])),
        )

    print(f"{len(common)} questions answered under every setting of `{args.base.name}` and `{args.other.name}`.\n")
    print("\n".join(tables.table(["report", "setting", f"{args.metric} [95% CI]", "context tok", "prompt tok"], [])))
    rows: dict[tuple[str, str], tuple[np.ndarray, float, float]] = {}
    for name, group in ((args.base.stem, a), (args.other.stem, b)):
        for label in sorted(group, key=lambda x: (x.split("@")[0], int(x.split("@")[1]) if "@" in x else 0)):
            v, c, pr = rows.setdefault((name, label), row(group[label]))
            mean, lo, hi = bootstrap_ci(v)
            print(tables.row([name, label, f"{mean:.3f} [{lo:.3f}, {hi:.3f}]", f"{c:.0f}", f"{pr:.0f}"]))
    best: dict[str, tuple[str, tuple[np.ndarray, float, float]]] = {}
    for (name, label), r in rows.items():
        if name == args.base.stem:
            strat = label.split("@")[0]
            if strat not in best or r[0].mean() > best[strat][1][0].mean():
                best[strat] = (label, r)
    print(f"\nPaired differences ({args.other.stem} minus {args.base.stem}, {args.metric}):\n")
    head = ["other setting", "base setting", "why compared", "difference [95% CI]", "p", "context tok ratio"]
    print("\n".join(tables.table(head, [])))
    for (name, label), r in rows.items():
        if name != args.other.stem:
            continue
        targets = {lab: ("best of its strategy", br) for lab, br in best.values()}
        for (bn, blabel), br in rows.items():
            if bn == args.base.stem and br[2] > r[2] and blabel not in targets:
                targets[blabel] = ("sends more prompt tokens", br)
        for blabel, (why, br) in targets.items():
            d = paired_bootstrap(r[0], br[0])
            diff = f"{d['diff']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]"
            print(tables.row([label, blabel, why, diff, f"{d['p_value_two_sided']:.3f}", f"{r[1] / br[1]:.2f}"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
