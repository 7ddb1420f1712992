"""The eval report's figures per dataset: score against tokens spent, gold in context against budget, cost.

The first marks the Pareto front; the last splits mean tokens by part (context, rest of the
prompt, completion) and mean time by stage. Cost: three PNGs per dataset (about a second each).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ragengine.evaluation.report.plots import pyplot, save
from ragengine.evaluation.summary import LABELS


def plot_dataset(name: str, s: dict[str, Any], out_dir: Path) -> list[str]:
    """The three figures of one dataset's summary ``s`` of report ``name``; returns their file names."""
    plt = pyplot()
    files = []
    rows, primary = s["settings"], s["primary"]
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    colors = {st: f"C{i}" for i, st in enumerate(strategies)}
    base = f"{name}-{s['dataset']}"

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for st in strategies:
        rs = sorted((r for r in rows if r["strategy"] == st), key=lambda r: r["tokens_spent"])
        xs = [r["tokens_spent"] for r in rs]
        m = [r["metrics"][primary] for r in rs]
        yerr = [[x[0] - x[1] for x in m], [x[2] - x[0] for x in m]]
        ax.errorbar(xs, [x[0] for x in m], yerr=yerr, marker="o", capsize=3, label=st, color=colors[st])
        for r in rs:
            if r["budget"] is not None:
                ax.annotate(str(r["budget"]), (r["tokens_spent"], r["metrics"][primary][0]), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")  # fmt: skip
    front = [next(r for r in rows if r["label"] == lab) for lab in s["pareto"]]
    ax.plot([r["tokens_spent"] for r in front], [r["metrics"][primary][0] for r in front], "k--", lw=1,
            label="Pareto front")  # fmt: skip
    ax.scatter([r["tokens_spent"] for r in front], [r["metrics"][primary][0] for r in front], s=140,
               facecolors="none", edgecolors="k", zorder=3)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel(f"mean {s['x_axis'].replace('_', ' ')} per question")
    ax.set_ylabel(LABELS.get(primary, primary))
    ax.set_title(f"{s['dataset']}: {LABELS.get(primary, primary)} vs tokens spent (95% CI)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    files.append(f"{base}-accuracy-tokens.png")
    save(fig, out_dir / files[-1])

    if "gold_in_context" in s["metrics"]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for st in strategies:
            rs = sorted((r for r in rows if r["strategy"] == st), key=lambda r: r["context_tokens"])
            if st == "llamaindex":
                m = rs[0]["metrics"]["gold_in_context"]
                ax.errorbar([rs[0]["context_tokens"]], [m[0]], yerr=[[m[0] - m[1]], [m[2] - m[0]]], marker="s",
                            capsize=3, color=colors[st], label=f"{st} (x = its context tokens)")  # fmt: skip
                continue
            xs = [r["budget"] for r in rs]
            m = [r["metrics"]["gold_in_context"] for r in rs]
            ax.plot(xs, [x[0] for x in m], marker="o", color=colors[st], label=st)
            ax.fill_between(xs, [x[1] for x in m], [x[2] for x in m], color=colors[st], alpha=0.15)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("context budget (tokens)")
        ax.set_ylabel("gold answer in context")
        ax.set_title(f"{s['dataset']}: gold answer in context vs budget (95% CI)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        files.append(f"{base}-gold-in-context.png")
        save(fig, out_dir / files[-1])

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    labels = [r["label"] for r in rows]
    ctx = np.array([r["context_tokens"] for r in rows])
    other = np.array([max(r["prompt_tokens"] - r["context_tokens"], 0.0) for r in rows])
    comp = np.array([r["completion_tokens"] for r in rows])
    pos = np.arange(len(rows))
    a1.bar(pos, ctx, label="context")
    a1.bar(pos, other, bottom=ctx, label="prompt besides context")
    a1.bar(pos, comp, bottom=ctx + other, label="completion")
    a1.set_ylabel("mean tokens per question")
    a1.set_title("tokens by part")
    stages = ["retrieve", "select", "assemble", "generate"]
    bottom = np.zeros(len(rows))
    for st in stages:
        vals = np.array([r.get("stage_ms", {}).get(st, 0.0) for r in rows])
        a2.bar(pos, vals, bottom=bottom, label=st)
        bottom += vals
    a2.set_ylabel("mean ms per question")
    a2.set_title("time by stage")
    for a in (a1, a2):
        a.set_xticks(pos)
        a.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
        a.legend(fontsize=7)
    fig.suptitle(f"{s['dataset']}: cost by stage")
    files.append(f"{base}-cost-by-stage.png")
    save(fig, out_dir / files[-1])
    return files
