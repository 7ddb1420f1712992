"""The selection benchmark's report: ``<out>.json``, ``<out>.md`` and ``<out>.png`` from its results.

Per set: recall (95% CI) per strategy and budget beside the oracle and the pre-project anchor,
tokens, chunks, coverage reward and retrieval rank of the chosen chunks, selector latency, MCTS
paired tests and search statistics; then the goals. Cost: string formatting and one figure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.evaluation.report.plots import pyplot, save
from ragengine.evaluation.report.tables import number, table

# Measured before the project: whole paragraphs as chunks, greedy, hybrid RRF (ARCHITECTURE.md).
ANCHORS: dict[str, dict[int, float]] = {
    "squad-dev": {128: 0.255, 256: 0.764, 512: 0.900, 1024: 0.943},
    "hotpotqa": {128: 0.08, 256: 0.34, 512: 0.57, 1024: 0.77},
    "musique": {128: 0.01, 256: 0.09, 512: 0.20, 1024: 0.35},
}


def render_markdown(results: dict[str, Any]) -> str:
    """The report: per set, recall (95% CI), tokens and latency per strategy and budget; paired tests; goals."""
    meta = results["meta"]
    lines = [
        "# Context selection under a token budget",
        "",
        f"Command: `{meta['command']}`  ",
        f"Run {meta['date']} on {meta['machine']}; load average {meta['load_start']} at start, "
        f"{meta['load_end']} at end (other jobs shared the cores: wall-clock latencies are upper bounds).  ",
        *([f"MCTS options: `{json.dumps(meta['mcts_options'])}`  "] if meta.get("mcts_options") else []),
        f"Retrieval: hybrid BM25 + MiniLM, RRF, {meta['candidates']} candidates per question, retrieved once; "
        f"chunks of at most {meta.get('chunking', '?')} tokens; tokens counted with the SmolLM2 tokenizer. "
        "Recall = share of questions whose selected context holds the gold answer (SQuAD) or every supporting "
        "paragraph (HotpotQA, MuSiQue: a paragraph counts when one of its chunks is selected). "
        "[lo, hi] = 95% bootstrap interval. *Oracle* = the cheapest subset of the same 30 candidates that holds "
        "the gold fits the budget (the ceiling of any selector). *Anchor* = greedy over whole paragraphs, "
        "measured before the project. Latency = the pipeline's `select` stage per question.",
        "",
    ]
    for name, d in results["datasets"].items():
        lines += _set_section(name, d, meta["budgets"])
    lines += ["## Goals", ""]
    for g in results["goals"]:
        status = "**met**" if g["met"] else "**missed**"
        if not g["met"] and g.get("met_cpu"):
            status = "**missed on the wall clock, met on CPU time**"
        line = f"- {g['goal']}: {status}: {number(g['value'])} vs {number(g['target'])} (margin {g['gap']:+.3f})"
        c = g.get("paired")
        if c:
            line += f"; paired diff {c['diff']:+.3f} [{c['lo']:+.3f}, {c['hi']:+.3f}], p = {c['p_value_two_sided']:.3f}"
        lines.append(line + (f". Why: {g['why']}." if g["why"] else "."))
    notes = results.get("notes") or []
    if notes:
        lines += ["", "## Why", ""] + [f"- {n}" for n in notes]
    lines.append("")
    return "\n".join(lines)


def _set_section(name: str, d: dict[str, Any], budgets: list[int]) -> list[str]:
    s = d["summary"]
    tab = s["table"]
    runs = s["n"] * len(tab) * len(budgets)
    lines = [
        f"## {name} ({s['n']} questions, {d['index']['n_chunks']} chunks)",
        "",
        f"id check: {d['id_check']['found']}/{d['id_check']['gold_ids']} gold doc ids found in the index. "
        f"Determinism: re-running each selector on the same input chose the same chunks in "
        f"{runs - d['records']['rerun_mismatch']}/{runs} runs. {d['id_check'].get('split', 0)} of the gold "
        f"paragraphs span more than one chunk. Wall time {d['seconds']} s.",
        "",
    ]
    head = ["strategy", *budgets]

    def cells(fmt: Any) -> list[list[str]]:
        return [[strat, *(fmt(r[str(b)]) for b in budgets)] for strat, r in tab.items()]

    recall = cells(lambda c: f"{number(c['recall'])} [{number(c['lo'], 2)}, {number(c['hi'], 2)}]")
    recall.append(["*oracle*", *(number(s["oracle"][str(b)]) for b in budgets)])
    anchor = ANCHORS.get(name)
    if anchor:
        recall.append(["*anchor*", *(number(anchor.get(b, math.nan), 3) for b in budgets)])
        if "greedy" in tab:
            diff = [tab["greedy"][str(b)]["recall"] - anchor.get(b, math.nan) for b in budgets]
            recall.append(["*greedy - anchor*", *(f"{x:+.3f}" for x in diff)])
    lines += ["Recall [95% CI]", "", *table(head, recall), ""]
    lines += [
        "Mean context tokens used (max) / mean chunks / mean coverage reward / mean rank of the chosen chunks",
        "",
    ]
    lines += table(
        head,
        cells(
            lambda c: (
                f"{c['tokens_mean']:.0f} ({c['tokens_max']}) / {c['chunks_mean']:.1f}"
                f" / {c['reward_mean']:.3f} / {number(c['rank_mean'], 1)}"
            )
        ),
    )
    lines += ["", "Selector latency, wall clock p50 / p95 in ms (CPU time of the selector alone p50 / p95)", ""]
    lines += table(
        head,
        cells(lambda c: f"{c['ms_p50']:.2f} / {c['ms_p95']:.2f} ({c['cpu_ms_p50']:.2f} / {c['cpu_ms_p95']:.2f})"),
    )
    if s["paired"]:
        lines += [
            "",
            "Paired comparisons (MCTS minus the other; wins / losses = questions only one of the two gets)",
            "",
        ]
        pairs = [
            [key, f"{c['diff']:+.3f}", f"[{c['lo']:+.3f}, {c['hi']:+.3f}]", f"{c['p_value_two_sided']:.3f}",
             f"{c['wins']} / {c['losses']}" if "wins" in c else ""]
            for key, c in s["paired"].items()
        ]  # fmt: skip
        lines += table(["comparison", "diff", "95% CI", "p", "wins / losses"], pairs)
    if s["mcts"]:
        lines += ["", "MCTS search: mean iterations / share of searches exhausted (exact optimum) / search ms p50", ""]
        lines.append(
            "; ".join(
                f"{b}: {v['iterations_mean']:.0f} / {v['exhausted_share']:.2f} / {v['search_ms_p50']:.1f}"
                for b, v in s["mcts"].items()
            )
        )
    lines.append("")
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    """Recall against budget, one panel per set, one line per strategy, with the oracle and the anchor."""
    plt = pyplot()
    sets = results["datasets"]
    budgets = results["meta"]["budgets"]
    styles = {"greedy": ("o", "-"), "dos": ("x", "--"), "mmr": ("s", "-"), "knapsack": ("v", "-"), "mcts": ("D", "-")}
    fig, axes = plt.subplots(1, len(sets), figsize=(5.4 * len(sets), 4.6), squeeze=False)
    for ax, (name, d) in zip(axes[0], sets.items(), strict=True):
        tab = d["summary"]["table"]
        for k, (strat, r) in enumerate(tab.items()):
            y = [r[str(b)]["recall"] for b in budgets]
            err = [
                [y[i] - r[str(b)]["lo"] for i, b in enumerate(budgets)],
                [r[str(b)]["hi"] - y[i] for i, b in enumerate(budgets)],
            ]
            x = [b * 2 ** (0.04 * (k - (len(tab) - 1) / 2)) for b in budgets]  # spread overlapping lines apart
            marker, line = styles.get(strat, ("o", "-"))
            label = "dos (greedy's set, reordered)" if strat == "dos" else strat
            ax.errorbar(
                x, y, yerr=err, marker=marker, ls=line, capsize=2, lw=2.4 if strat == "mcts" else 1.2, label=label
            )
        ax.plot(
            budgets, [d["summary"]["oracle"][str(b)] for b in budgets], "k:", label="oracle (best of 30 candidates)"
        )
        if name in ANCHORS:
            anchor = [ANCHORS[name].get(b, math.nan) for b in budgets]
            ax.plot(budgets, anchor, "--", color="grey", label="anchor (greedy, whole paragraphs)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.set_xlabel("context budget (tokens)")
        ylabel = "gold answer in context" if d["kind"] == "answer" else "all supporting paragraphs in context"
        ax.set_ylabel(ylabel)
        ax.set_title(f"{name} (n={d['summary']['n']}), 95% CI")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 7), fontsize=8, frameon=False)
    save(fig, path, rect=(0, 0.07, 1, 1))


def clean(x: Any) -> Any:
    """``x`` with NaN and infinities as None and numpy scalars as Python ones (JSON has neither)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    if isinstance(x, np.generic):
        return clean(x.item())
    return x


def write_report(
    results: dict[str, Any],
    out: Path,
    render: Callable[[dict[str, Any]], str],
    draw: Callable[[dict[str, Any], Path], None],
) -> tuple[Path, Path, Path]:
    """``<out>.json`` (the results, JSON-clean), ``<out>.md`` (``render``) and ``<out>.png`` (``draw``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = out.with_suffix(".json"), out.with_suffix(".md"), out.with_suffix(".png")
    paths[0].write_text(json.dumps(clean(results), separators=(",", ":")) + "\n", encoding="utf-8")
    paths[1].write_text(render(results), encoding="utf-8")
    draw(results, paths[2])
    return paths


def write_outputs(results: dict[str, Any], out: Path) -> tuple[Path, Path, Path]:
    """``<out>.json`` (summaries + per-question columns), ``<out>.md`` and ``<out>.png``."""
    return write_report(results, out, render_markdown, plot)
