"""Eval reports: per-setting scores with 95% bootstrap intervals, Pareto fronts, paired comparisons, plots.

``write_report`` turns the harness's records into ``NAME.json`` (config, summary, timing and every
record), ``NAME.md`` and three plots per dataset: the primary score against tokens spent with the
Pareto front marked, gold-answer-in-context against budget, and cost by stage.

Only questions with a record for every setting of their dataset are summarised, so every figure
of a dataset is computed on the same questions and every comparison is paired. Intervals are
percentile bootstraps over questions (``stats.bootstrap_ci``); ratios (accuracy per 1,000
tokens) and areas under curves are bootstrapped by resampling questions jointly for all settings.
Timing lives in its own section (``timing`` in the JSON, "Timing" in the Markdown): it is the
only part that differs between two runs of the same config.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.errors import RagEngineError
from ragengine.evaluation.config import BASELINES, EvalConfig
from ragengine.evaluation.metrics import accuracy_per_1k_tokens, area_under_curve
from ragengine.evaluation.stats import bootstrap_ci, paired_bootstrap

# (key, label, scale for display). A metric is summarised over the questions it applies to (SQuAD
# v2.0: answer scores over answerable questions, abstention over all); ``n`` says how many.
METRICS: tuple[tuple[str, str, float], ...] = (
    ("answer_accuracy", "answer accuracy", 1.0),
    ("f1", "F1", 100.0),
    ("em", "EM", 100.0),
    ("abstention_correct", "abstention accuracy", 1.0),
    ("gold_in_context", "gold answer in context", 1.0),
    ("all_supporting_in_context", "all supporting paragraphs in context", 1.0),
    ("recall_in_context", "relevant docs in context (recall)", 1.0),
    ("gold_doc_in_context", "gold paragraph in context", 1.0),
)
PRIMARY_ORDER = (
    "answer_accuracy",
    "abstention_correct",
    "all_supporting_in_context",
    "gold_in_context",
    "recall_in_context",
    "gold_doc_in_context",
)
LABELS = {k: label for k, label, _ in METRICS}
SCALES = {k: s for k, _, s in METRICS}


class ReportError(RagEngineError):
    """A report file is missing or does not have the structure ``write_report`` gives it."""


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point dominates (cost ``x`` lower or equal and score ``y``
    higher or equal, one of them strictly), sorted by cost. Equal points are all on the front.

    >>> pareto_front([(100, 0.2), (200, 0.3), (150, 0.1), (300, 0.3)])
    [0, 1]
    """
    front = []
    for i, (xi, yi) in enumerate(points):
        dominated = any((xj <= xi and yj >= yi) and (xj < xi or yj > yi) for j, (xj, yj) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], -points[i][1]))


def label(strategy: str, budget: int | None) -> str:
    return strategy if budget is None else f"{strategy}@{budget}"


def _ci(values: Sequence[float], cfg: EvalConfig) -> list[float]:
    m, lo, hi = bootstrap_ci(list(values), n_resamples=cfg.bootstrap, seed=cfg.seed)
    return [m, lo, hi]


def _indices(n: int, cfg: EvalConfig) -> np.ndarray:
    """One shared set of resampled question indices, so joint statistics stay paired."""
    rng = np.random.default_rng(cfg.seed)
    return rng.integers(0, n, size=(cfg.bootstrap, n))


def _quantiles(samples: np.ndarray, point: float) -> list[float]:
    lo, hi = np.quantile(samples, [0.025, 0.975])
    return [point, float(lo), float(hi)]


def _complete(records: list[dict[str, Any]], settings: list[tuple[str, int | None]]) -> list[str]:
    have: dict[str, set[tuple[str, int | None]]] = defaultdict(set)
    order: list[str] = []
    for r in records:
        if r["id"] not in have:
            order.append(r["id"])
        have[r["id"]].add((r["strategy"], r["budget"]))
    need = set(settings)
    return [q for q in order if need <= have[q]]


def _settings_of(cfg: EvalConfig, ds_name: str) -> list[tuple[str, int | None]]:
    from ragengine.evaluation.harness import _settings

    ds = next(d for d in cfg.datasets if d.name == ds_name)
    return _settings(cfg, ds)


def summarize_dataset(cfg: EvalConfig, ds_name: str, records: list[dict[str, Any]], planned: int) -> dict[str, Any]:
    """Scores, Pareto front, AUC, paired comparisons and goals of one dataset's records."""
    settings = _settings_of(cfg, ds_name)
    recs = [r for r in records if r["dataset"] == ds_name and (r["strategy"], r["budget"]) in set(settings)]
    qids = _complete(recs, settings)
    by = {(r["id"], r["strategy"], r["budget"]): r for r in recs}
    out: dict[str, Any] = {
        "dataset": ds_name,
        "questions": len(qids),
        "planned_questions": planned,
        "settings": [],
    }
    if not qids:
        return out
    rows = {s: [by[(q, s[0], s[1])] for q in qids] for s in settings}
    # a metric applies to a question when every setting scored it there (it depends on the question only)
    has = {k: [i for i in range(len(qids)) if all(k in rows[s][i]["scores"] for s in settings)] for k, _, _ in METRICS}
    present = [k for k, _, _ in METRICS if has[k]]
    kind = recs[0]["kind"]
    order = ("abstention_correct", *PRIMARY_ORDER) if kind == "squad2" else PRIMARY_ORDER
    primary = next((k for k in order if k in present), present[0] if present else "")
    spends = any(r["total_tokens"] > 0 for s in settings for r in rows[s])
    x_key = "total_tokens" if spends else "context_tokens"
    out.update({"kind": kind, "primary": primary, "metrics": present, "x_axis": x_key, "ids": qids})
    out["metric_n"] = {k: len(has[k]) for k in present}
    sub = {k: {s: [rows[s][i] for i in has[k]] for s in settings} for k in present}
    idx = {k: _indices(len(has[k]), cfg) for k in present}
    for s in settings:
        rs = rows[s]
        row: dict[str, Any] = {"strategy": s[0], "budget": s[1], "label": label(*s), "n": len(rs)}
        for tok in ("context_tokens", "prompt_tokens", "completion_tokens", "total_tokens"):
            row[tok] = float(np.mean([r[tok] for r in rs]))
        row["tokens_spent"] = row[x_key]
        row["metrics"] = {k: _ci([r["scores"][k] for r in sub[k][s]], cfg) for k in present}
        row["mean_chunks"] = float(np.mean([r["n_chunks"] for r in rs]))
        if primary and row["tokens_spent"] > 0:
            y = np.array([r["scores"][primary] for r in sub[primary][s]])
            x = np.array([r[x_key] for r in sub[primary][s]], dtype=float)
            if x.mean() > 0:
                point = accuracy_per_1k_tokens(float(y.mean()), float(x.mean()))
                sx = x[idx[primary]].mean(axis=1)
                samples = np.where(sx > 0, y[idx[primary]].mean(axis=1) * 1000.0 / np.maximum(sx, 1e-9), 0.0)
                row["per_1k_tokens"] = _quantiles(samples, point)
        out["settings"].append(row)
    points = [(r["tokens_spent"], r["metrics"][primary][0] if primary else 0.0) for r in out["settings"]]
    out["pareto"] = [out["settings"][i]["label"] for i in pareto_front(points)]
    out["auc"] = _auc(settings, sub, idx)
    out["paired"] = _paired(
        cfg, settings, sub, [k for k in dict.fromkeys((primary, "gold_in_context")) if k in present]
    )
    out["retrieval"] = _retrieval(cfg, settings, rows)
    out["goals"] = _goals(cfg, out, sub.get(primary, {}))
    return out


def _auc(
    settings: list[tuple[str, int | None]],
    sub: dict[str, dict[tuple[str, int | None], list[dict[str, Any]]]],
    idx: dict[str, np.ndarray],
) -> dict[str, dict[str, list[float]]]:
    """Mean score over the budget sweep: area under (log2 budget, score) / the log2 range."""
    out: dict[str, dict[str, list[float]]] = {}
    for strategy in dict.fromkeys(s for s, b in settings if b is not None):
        budgets = sorted(b for s, b in settings if s == strategy and b is not None)
        if len(budgets) < 2:
            continue
        xs = np.log2(np.array(budgets, dtype=float))
        out[strategy] = {}
        for k, rows in sub.items():
            ys = np.array([[r["scores"][k] for r in rows[(strategy, b)]] for b in budgets])  # (budgets, n)
            point = area_under_curve([(float(x), float(y)) for x, y in zip(xs, ys.mean(axis=1), strict=True)])
            res = ys[:, idx[k]].mean(axis=2)  # (budgets, resamples)
            widths = np.diff(xs)[:, None]
            areas = ((res[1:] + res[:-1]) / 2 * widths).sum(axis=0) / (xs[-1] - xs[0])
            out[strategy][k] = _quantiles(areas, point)
    return out


def _paired(
    cfg: EvalConfig,
    settings: list[tuple[str, int | None]],
    sub: dict[str, dict[tuple[str, int | None], list[dict[str, Any]]]],
    metrics: list[str],
) -> list[dict[str, Any]]:
    """Strategy pairs at each budget, and every budgeted setting against llama-index."""
    rows = set(settings)
    pairs: list[tuple[tuple[str, int | None], tuple[str, int | None]]] = []
    budgets = sorted({b for _, b in settings if b is not None})
    strategies = list(dict.fromkeys(s for s, b in settings if b is not None))
    for b in budgets:
        for i, a in enumerate(strategies):
            for c in strategies[i + 1 :]:
                if (a, b) in rows and (c, b) in rows:
                    first, second = (c, a) if a in BASELINES else (a, c)
                    pairs.append(((first, b), (second, b)))
    if ("llamaindex", None) in rows:
        pairs += [(s, ("llamaindex", None)) for s in settings if s[1] is not None]
    out = []
    for left, right in pairs:
        for k in metrics:
            res = paired_bootstrap(
                [r["scores"][k] for r in sub[k][left]],
                [r["scores"][k] for r in sub[k][right]],
                cfg.bootstrap,
                0.05,
                cfg.seed,
            )
            out.append({"a": label(*left), "b": label(*right), "metric": k, **res})
    return out


def _retrieval(
    cfg: EvalConfig, settings: list[tuple[str, int | None]], rows: dict[tuple[str, int | None], list[dict[str, Any]]]
) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    ours = next((s for s in settings if s[0] != "llamaindex"), None)
    for name, s in (("ragengine hybrid candidates", ours), ("llama-index top-k", ("llamaindex", None))):
        if s is None or s not in rows:
            continue
        keys = sorted({k for r in rows[s] for k in r.get("retrieval", {})})
        vals = {k: [r["retrieval"][k] for r in rows[s] if k in r.get("retrieval", {})] for k in keys}
        out[name] = {k: [*_ci(v, cfg), len(v)] for k, v in vals.items() if v}
    return out


def _diff(rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]], k: str, cfg: EvalConfig) -> dict[str, float]:
    return paired_bootstrap(
        [r["scores"][k] for r in rows_a], [r["scores"][k] for r in rows_b], cfg.bootstrap, 0.05, cfg.seed
    )


def _verdict(met: bool, d: dict[str, float]) -> str:
    ci = f"paired difference {d['diff']:+.3f}, 95% CI [{d['lo']:+.3f}, {d['hi']:+.3f}]"
    if met and d["lo"] > 0:
        return f"met, and significant: {ci}"
    if met:
        return f"met on the point estimate, not significant: {ci} includes 0"
    if d["hi"] < 0:
        return f"not met: {ci} (significantly worse)"
    return f"not met on the point estimate: {ci}"


def _judge(
    goal: dict[str, Any],
    c: dict[str, Any],
    base: list[dict[str, Any]],
    tokens: str,
    met: bool,
    k: str,
    cfg: EvalConfig,
    rows: dict[tuple[str, int | None], list[dict[str, Any]]],
) -> None:
    """Record ragengine's candidate setting ``c`` for a goal, paired against the baseline's records ``base``."""
    d = _diff(rows[(c["strategy"], c["budget"])], base, k, cfg)
    goal.update(
        {
            "candidate": c["label"],
            "candidate_accuracy": c["metrics"][k],
            f"candidate_{tokens}": c[tokens],
            "met": met,
            "paired": d,
            "verdict": _verdict(met, d),
        }
    )


def _goals(
    cfg: EvalConfig, out: dict[str, Any], rows: dict[tuple[str, int | None], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The issue's two goals, when the dataset has answers and both baselines."""
    k = out["primary"]
    if k != "answer_accuracy":
        return []
    srows = {(r["strategy"], r["budget"]): r for r in out["settings"]}
    ours = [r for r in out["settings"] if r["strategy"] not in BASELINES]
    goals = []
    topk = [r for r in out["settings"] if r["strategy"] == "topk"]
    if topk and ours:
        best = max(topk, key=lambda r: (r["metrics"][k][0], -r["context_tokens"]))
        half = best["context_tokens"] / 2
        cands = [r for r in ours if r["context_tokens"] <= half]
        goal: dict[str, Any] = {
            "goal": "ragengine's best strategy reaches the top-k baseline's best answer accuracy "
            "at no more than half of its context tokens",
            "baseline": best["label"],
            "baseline_accuracy": best["metrics"][k],
            "baseline_context_tokens": best["context_tokens"],
            "limit_context_tokens": half,
        }
        if cands:
            c = max(cands, key=lambda r: (r["metrics"][k][0], -r["context_tokens"]))
            met = c["metrics"][k][0] >= best["metrics"][k][0]
            _judge(goal, c, rows[(best["strategy"], best["budget"])], "context_tokens", met, k, cfg, rows)
        else:
            goal.update({"met": False, "verdict": "not met: no ragengine setting uses that few context tokens"})
        goals.append(goal)
    li = srows.get(("llamaindex", None))
    if li is not None and ours:
        cands = [r for r in ours if r["prompt_tokens"] < li["prompt_tokens"]]
        goal = {
            "goal": "ragengine beats stock llama-index's answer accuracy while sending fewer prompt tokens",
            "baseline": "llamaindex",
            "baseline_accuracy": li["metrics"][k],
            "baseline_prompt_tokens": li["prompt_tokens"],
            "baseline_context_tokens": li["context_tokens"],
        }
        if cands:
            c = max(cands, key=lambda r: (r["metrics"][k][0], -r["prompt_tokens"]))
            met = c["metrics"][k][0] > li["metrics"][k][0]
            _judge(goal, c, rows[("llamaindex", None)], "prompt_tokens", met, k, cfg, rows)
        else:
            goal.update({"met": False, "verdict": "not met: no ragengine setting sends fewer prompt tokens"})
        goals.append(goal)
    return goals


def timing(records: list[dict[str, Any]], sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """Generator time per answer (fresh generations only) and the run's wall time over all sessions."""
    gen = [r["stages"]["generate"]["ms"] for r in records if "generate" in r["stages"] and not r["generation_reused"]]
    reused = sum(1 for r in records if r.get("generation_reused"))
    by_session: dict[int, float] = defaultdict(float)
    for r in records:
        s = r.get("session")
        if isinstance(s, int):
            by_session[s] = max(by_session[s], float(r.get("finished_at", 0.0)))
    wall = 0.0
    for s in sessions:
        end = by_session.get(s.get("index", -1))
        if end:
            wall += max(end - float(s["started_at"]), 0.0)
    per_strategy: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if "generate" in r["stages"] and not r["generation_reused"]:
            per_strategy[label(r["strategy"], r["budget"])].append(r["stages"]["generate"]["ms"])
    return {
        "generations": len(gen),
        "reused_generations": reused,
        "generate_s_per_answer_mean": float(np.mean(gen)) / 1000 if gen else 0.0,
        "generate_s_per_answer_p50": float(np.median(gen)) / 1000 if gen else 0.0,
        "generate_s_by_setting": {k: float(np.mean(v)) / 1000 for k, v in sorted(per_strategy.items())},
        "latency_s_by_dataset": {
            d: float(np.mean([r["latency_ms"] for r in records if r["dataset"] == d])) / 1000
            for d in dict.fromkeys(r["dataset"] for r in records)
        },
        "sessions": len(sessions),
        "run_wall_s": wall,
    }


def summarize(
    cfg: EvalConfig, records: list[dict[str, Any]], questions: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    questions = questions or {}
    return {
        ds.name: summarize_dataset(cfg, ds.name, records, len(questions.get(ds.name, [])))
        for ds in cfg.datasets
        if ds.name in {r["dataset"] for r in records}
    }


# ---------------------------------------------------------------- output


def _fmt(ci: Sequence[float] | None, scale: float = 1.0, digits: int = 3) -> str:
    if not ci:
        return "-"
    m, lo, hi = (float(x) * scale for x in ci[:3])
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _digits(k: str) -> int:
    return 1 if SCALES.get(k, 1.0) != 1.0 else 3


def _plots(cfg: EvalConfig, s: dict[str, Any], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    rows, primary = s["settings"], s["primary"]
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    colors = {st: f"C{i}" for i, st in enumerate(strategies)}
    base = f"{cfg.name}-{s['dataset']}"

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
    fig.tight_layout()
    fig.savefig(out_dir / files[-1], dpi=110)
    plt.close(fig)

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
        fig.tight_layout()
        fig.savefig(out_dir / files[-1], dpi=110)
        plt.close(fig)

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
    fig.tight_layout()
    fig.savefig(out_dir / files[-1], dpi=110)
    plt.close(fig)
    return files


def _stage_ms(s: dict[str, Any], records: list[dict[str, Any]]) -> None:
    ids = set(s.get("ids", []))
    for row in s["settings"]:
        rs = [
            r
            for r in records
            if r["dataset"] == s["dataset"] and r["id"] in ids and label(r["strategy"], r["budget"]) == row["label"]
        ]
        stages = sorted({k for r in rs for k in r["stages"]})
        row["stage_ms"] = {k: float(np.mean([r["stages"].get(k, {}).get("ms", 0.0) for r in rs])) for k in stages}


def _markdown(cfg: EvalConfig, summary: dict[str, Any], tim: dict[str, Any], n_records: int) -> str:
    L = [f"# {cfg.name}", ""]
    if cfg.description:
        L += [cfg.description, ""]
    L += [
        f"Config `{cfg.source or cfg.name}`; generator `{cfg.generator}`; seed {cfg.seed}; {n_records} records. "
        f"Intervals are 95% percentile bootstraps over questions ({cfg.bootstrap} resamples); comparisons are "
        "paired on the same questions. Tokens are counted with the generator's tokenizer: context = retrieved text "
        "in the prompt, prompt = everything the generator read (llama.cpp's count), total = prompt + completion.",
        "",
    ]
    for s in summary.values():
        L += _md_dataset(cfg, s)
    L += ["## Timing", ""]
    L += [
        f"- Generator time per answer: {tim['generate_s_per_answer_mean']:.2f} s mean, "
        f"{tim['generate_s_per_answer_p50']:.2f} s median over {tim['generations']} generations "
        f"({tim['reused_generations']} answers reused an identical prompt's generation).",
        f"- Total run time: {tim['run_wall_s'] / 60:.1f} min over {tim['sessions']} session(s).",
    ]
    if tim["latency_s_by_dataset"]:
        L.append(
            "- Mean latency per answer (retrieval + selection + generation), by dataset: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in tim["latency_s_by_dataset"].items())
            + "."
        )
    if tim["generate_s_by_setting"]:
        L.append(
            "- Generation s/answer by setting: "
            + ", ".join(f"{k} {v:.2f}" for k, v in tim["generate_s_by_setting"].items())
            + "."
        )
    return "\n".join(L) + "\n"


def _md_dataset(cfg: EvalConfig, s: dict[str, Any]) -> list[str]:
    ds = next(d for d in cfg.datasets if d.name == s["dataset"])
    L = [f"## {s['dataset']}", ""]
    src = f"`{ds.path}`" + (f", articles {ds.articles[0]}-{ds.articles[1]}" if ds.articles else "")
    L += [
        f"{ds.kind} from {src}; {s['questions']} questions summarised"
        + (f" of {s['planned_questions']} planned" if s["planned_questions"] != s["questions"] else "")
        + f"; generator `{cfg.generator_for(ds)}`.",
        "",
    ]
    if not s["settings"]:
        return [*L, "No question has finished every setting yet.", ""]
    primary, metrics = s["primary"], s["metrics"]
    head = ["setting", "context tok", "prompt tok", "total tok"]
    head += [LABELS[k] for k in metrics]
    head += [f"{LABELS[primary]} per 1k {s['x_axis'].replace('_', ' ')}"]
    L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in s["settings"]:
        cells = [r["label"] + (" *" if r["label"] in s["pareto"] else "")]
        cells += [f"{r['context_tokens']:.0f}", f"{r['prompt_tokens']:.0f}", f"{r['total_tokens']:.0f}"]
        cells += [_fmt(r["metrics"][k], SCALES[k], _digits(k)) for k in metrics]
        cells += [_fmt(r.get("per_1k_tokens"))]
        L.append("| " + " | ".join(cells) + " |")
    L += ["", f"\\* on the Pareto front of {LABELS[primary]} against mean {s['x_axis'].replace('_', ' ')}."]
    ns = s.get("metric_n", {})
    if len(set(ns.values())) > 1:
        L.append("Questions per metric (a metric counts where it applies): "
                 + ", ".join(f"{LABELS[k]} {n}" for k, n in ns.items()) + ".")  # fmt: skip
    L.append("")
    if s["goals"]:
        L += ["### Goals", ""]
        for g in s["goals"]:
            status = "MET" if g["met"] else "NOT MET"
            L.append(f"- **{status}**: {g['goal']}.")
            if "limit_context_tokens" in g:
                L.append(
                    f"  Top-k's best is {g['baseline']} ({_fmt(g['baseline_accuracy'])} at "
                    f"{g['baseline_context_tokens']:.0f} context tokens; half = {g['limit_context_tokens']:.0f})."
                )
                if "candidate" in g:
                    L.append(
                        f"  ragengine's best within that is {g['candidate']}: {_fmt(g['candidate_accuracy'])} at "
                        f"{g['candidate_context_tokens']:.0f} context tokens; {g['verdict']}."
                    )
                else:
                    L.append(f"  {g['verdict']}.")
            else:
                L.append(
                    f"  llama-index: {_fmt(g['baseline_accuracy'])} at {g['baseline_context_tokens']:.0f} context / "
                    f"{g['baseline_prompt_tokens']:.0f} prompt tokens."
                )
                if "candidate" in g:
                    L.append(
                        f"  ragengine's best with fewer prompt tokens is {g['candidate']}: "
                        f"{_fmt(g['candidate_accuracy'])} at {g['candidate_prompt_tokens']:.0f} prompt tokens; "
                        f"{g['verdict']}."
                    )
                else:
                    L.append(f"  {g['verdict']}.")
        L.append("")
    L += ["### Pareto front", "", ", ".join(s["pareto"]), ""]
    if s["auc"]:
        L += [
            "### Area under the curve",
            "",
            "Mean score over the budget sweep: area under (log2 budget, score) divided by the log2 range "
            f"({min(b for _, b in _budgets(s))} to {max(b for _, b in _budgets(s))} tokens).",
            "",
            "| strategy | " + " | ".join(LABELS[k] for k in metrics) + " |",
            "|---|" + "---|" * len(metrics),
        ]
        for st, vals in s["auc"].items():
            L.append(f"| {st} | " + " | ".join(_fmt(vals.get(k), SCALES[k], _digits(k)) for k in metrics) + " |")
        L.append("")
    if s["paired"]:
        L += [
            "### Paired comparisons",
            "",
            "Difference a - b on the same questions, 95% CI and two-sided bootstrap p-value.",
            "",
            "| a | b | metric | a - b | 95% CI | p |",
            "|---|---|---|---|---|---|",
        ]
        for p in s["paired"]:
            sc = SCALES.get(p["metric"], 1.0)
            d = _digits(p["metric"])
            L.append(
                f"| {p['a']} | {p['b']} | {LABELS[p['metric']]} | {p['diff'] * sc:+.{d}f} | "
                f"[{p['lo'] * sc:+.{d}f}, {p['hi'] * sc:+.{d}f}] | {p['p_value_two_sided']:.3f} |"
            )
        L.append("")
    if s["retrieval"]:
        L += ["### Retrieval", "", "| ranking | metric | mean [95% CI] | n |", "|---|---|---|---|"]
        for name, vals in s["retrieval"].items():
            for k, v in vals.items():
                L.append(f"| {name} | {k} | {_fmt(v)} | {int(v[3])} |")
        L.append("")
    for f in s.get("plots", []):
        L += [f"![{f}]({f})", ""]
    return L


def _budgets(s: dict[str, Any]) -> list[tuple[str, int]]:
    return [(r["strategy"], r["budget"]) for r in s["settings"] if r["budget"] is not None]


def write_report(
    cfg: EvalConfig,
    records: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
    out_dir: str | Path,
    questions: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Write ``NAME.json``, ``NAME.md`` and the plots into ``out_dir``; returns the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    order = {(ds.name): i for i, ds in enumerate(cfg.datasets)}
    wanted = {d: set(q) for d, q in (questions or {}).items()}
    recs = [r for r in records if r["dataset"] in order and (not wanted or r["id"] in wanted.get(r["dataset"], ()))]
    recs.sort(key=lambda r: (order[r["dataset"]], r["key"]))
    summary = summarize(cfg, recs, questions)
    for s in summary.values():
        if s["settings"]:
            _stage_ms(s, recs)
            s["plots"] = _plots(cfg, s, out)
    tim = timing(recs, sessions)
    doc = {
        "name": cfg.name,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": _config_dict(cfg),
        "summary": summary,
        "timing": tim,
    }
    head = json.dumps(doc, indent=1, ensure_ascii=False, default=str)
    lines = ",\n".join(json.dumps(compact_record(r), ensure_ascii=False, separators=(",", ":")) for r in recs)
    text = f'{head[:-2]},\n "records": [\n{lines}\n ]\n}}\n' if recs else f'{head[:-2]},\n "records": []\n}}\n'
    (out / f"{cfg.name}.json").write_text(text, encoding="utf-8")
    (out / f"{cfg.name}.md").write_text(_markdown(cfg, summary, tim, len(recs)), encoding="utf-8")
    return summary


# Fields of a partial-file record that the final JSON leaves out, to keep it small: bookkeeping, the
# question text (in the dataset), the selected doc ids (scored in ``scores``) and per-question
# retrieval scores (summarised once per dataset). The partial file keeps everything.
_DROP = ("key", "fingerprint", "kind", "question", "session", "finished_at", "retrieval", "doc_ids")


def compact_record(rec: dict[str, Any]) -> dict[str, Any]:
    """A record as the final JSON stores it (one line each): stage entries keep only non-zero fields."""
    out = {k: v for k, v in rec.items() if k not in _DROP}
    if not rec.get("answer"):
        out.pop("golds", None)
    if not rec.get("unanswerable"):
        out.pop("unanswerable", None)
    out["stages"] = {
        st: {k: (round(v, 1) if k == "ms" else v) for k, v in c.items() if v or k == "ms"}
        for st, c in rec.get("stages", {}).items()
    }
    out["latency_ms"] = round(float(rec.get("latency_ms", 0.0)), 1)
    return out


def _config_dict(cfg: EvalConfig) -> dict[str, Any]:
    from dataclasses import asdict

    d = asdict(cfg)
    d["fingerprints"] = {ds.name: cfg.fingerprint(ds) for ds in cfg.datasets}
    return json.loads(json.dumps(d, default=str))


def validate_report(json_path: str | Path) -> dict[str, Any]:
    """Check a written report: JSON structure, scores in range, the Markdown and plots beside it.

    Raises ``ReportError`` naming the file and what is wrong; returns the parsed JSON.
    """
    p = Path(json_path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ReportError(f"{p}: report not found") from e
    except json.JSONDecodeError as e:
        raise ReportError(f"{p}: not valid JSON: {e.msg}") from e
    for key in ("name", "config", "summary", "timing", "records"):
        if key not in doc:
            raise ReportError(f"{p}: missing top-level key {key!r}")
    md = p.with_suffix(".md")
    if not md.is_file() or not md.read_text(encoding="utf-8").startswith(f"# {doc['name']}"):
        raise ReportError(f"{md}: Markdown report missing or without its title")
    if not doc["summary"]:
        raise ReportError(f"{p}: the summary is empty (no dataset finished a question)")
    for name, s in doc["summary"].items():
        if not s.get("settings"):
            raise ReportError(f"{p}: dataset {name!r} has no summarised setting")
        for r in s["settings"]:
            for k, ci in r["metrics"].items():
                m, lo, hi = ci
                if not (0.0 <= lo <= m <= hi <= 1.0) or any(math.isnan(x) for x in ci):
                    raise ReportError(
                        f"{p}: {name} {r['label']} {k} = {ci} is not a mean inside its interval in [0, 1]"
                    )
            if r["n"] != s["questions"]:
                raise ReportError(f"{p}: {name} {r['label']} has {r['n']} questions, expected {s['questions']}")
        for f in s.get("plots", []):
            if not (p.parent / f).is_file() or (p.parent / f).stat().st_size == 0:
                raise ReportError(f"{p.parent / f}: plot missing or empty")
    return dict(doc)
