"""The evidence benchmark's report: a Markdown table per set, a JSON file and a plot.

Rows are budgets, columns methods; each cell is the share of questions whose gold is in the
context, with its 95% bootstrap interval, and the paired difference against chunk greedy.
The plot draws the same as lines against the budget (log scale), with the oracle dotted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragengine.evaluation.report.plots import pyplot, save
from ragengine.evaluation.report.selection import write_report

LABELS = {
    "topk": "top-k chunks",
    "greedy": "greedy chunks",
    "mcts": "MCTS chunks",
    "mcts-evidence": "MCTS chunks, evidence reward",
    "dense": "dense-only chunks",
    "bm25": "BM25-only chunks",
    "evidence": "evidence (gain/token, adaptive stop)",
    "evidence-full": "evidence (gain/token, no stop)",
    "evidence-rank": "sentence rank + truncate (LongLLMLingua-style)",
    "evidence-prune": "threshold prune + truncate (Provence-style)",
}


def _cell(c: dict[str, Any]) -> str:
    s = f"{c['hit']:.3f} [{c['ci'][0]:.3f}, {c['ci'][1]:.3f}]"
    d = c.get("vs_greedy")
    if d is not None:
        s += f" ({d['diff']:+.3f})"
    return s


def render_markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "# Evidence-level selection: gold in context per token",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; machine: {meta['machine']}; SQuAD split: {meta['split']}",
        "",
        "Each cell: share of questions with the gold in the selected context, 95% bootstrap interval, and in",
        "parentheses the paired difference against greedy chunks on the same questions. SQuAD: gold answer text",
        "in context; HotpotQA/MuSiQue: every supporting paragraph has text in context. All methods select from",
        "the same 30 candidates per retrieval mode; the oracle is the cheapest candidate chunk(s) holding the gold.",
        "",
    ]
    for name, d in results["sets"].items():
        summ = d["summary"]
        methods = [m for m in meta["methods"] if m in next(iter(summ.values()))]
        lines += [f"## {name} ({d['questions']} questions, {d['seconds']} s)", ""]
        lines.append("| budget | oracle | " + " | ".join(LABELS.get(m, m) for m in methods) + " |")
        lines.append("|---|---|" + "---|" * len(methods))
        for b, row in summ.items():
            lines.append(f"| {b} | {row['oracle']:.3f} | " + " | ".join(_cell(row[m]) for m in methods) + " |")
        lines += ["", "Mean context tokens used:", ""]
        lines.append("| budget | " + " | ".join(methods) + " |")
        lines.append("|---|" + "---|" * len(methods))
        for b, row in summ.items():
            lines.append(f"| {b} | " + " | ".join(f"{row[m]['tokens']:.0f}" for m in methods) + " |")
        ev = [m for m in methods if m.startswith("evidence")]
        if ev:
            lines += ["", "Evidence scoring + selection latency per question (30 candidates), ms:", ""]
            lines.append("| budget | method | wall p50 | wall p95 | CPU p50 | CPU p95 | adaptive stops |")
            lines.append("|---|---|---|---|---|---|---|")
            for b, row in summ.items():
                for m in ev:
                    c = row[m]
                    lines.append(
                        f"| {b} | {m} | {c['ms_p50']} | {c['ms_p95']} | {c['cpu_ms_p50']} | {c['cpu_ms_p95']} | "
                        f"{c['adaptive_stops']} |"
                    )
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    sets = results["sets"]
    fig, axes = plt.subplots(1, len(sets), figsize=(5.6 * len(sets), 4.8), squeeze=False)
    for ax, (name, d) in zip(axes[0], sets.items(), strict=True):
        summ = d["summary"]
        budgets = [int(b) for b in summ]
        methods = [m for m in results["meta"]["methods"] if m in summ[str(budgets[0])]]
        for m in methods:
            y = [summ[str(b)][m]["hit"] for b in budgets]
            bold = m in ("evidence", "greedy")
            ax.plot(budgets, y, marker="o", lw=2.4 if bold else 1.1, ls="-" if m.startswith("evidence") else "--",
                    label=LABELS.get(m, m))  # fmt: skip
        ax.plot(budgets, [summ[str(b)]["oracle"] for b in budgets], "k:", label="oracle (cheapest chunks)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.set_xlabel("context budget (tokens)")
        ax.set_ylabel("gold in context")
        ax.set_title(f"{name} (n={d['questions']})")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    save(fig, path, rect=(0, 0.13, 1, 1))


def write_outputs(results: dict[str, Any], out: Path) -> tuple[Path, Path, Path]:
    """``<out>.json`` (summaries + per-question columns), ``<out>.md`` and ``<out>.png``."""
    return write_report(results, out, render_markdown, plot)
