"""Summaries of eval records: per-setting scores with 95% bootstrap intervals, Pareto fronts, AUC, pairs.

Only questions with a record for every setting of their dataset are summarised, so every figure
of a dataset is computed on the same questions and every comparison is paired. Intervals are
percentile bootstraps over questions (``stats.bootstrap_ci``); ratios (accuracy per 1,000
tokens) and areas under curves are bootstrapped by resampling questions jointly for all settings.
``timing`` is kept apart: it is the only part that differs between two runs of the same config.
Cost: ``bootstrap`` resamples per figure, numpy-vectorised (well under a second per dataset).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from ragengine.evaluation.config import BASELINES, EvalConfig
from ragengine.evaluation.goals import goals
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
    return cfg.settings_for(next(d for d in cfg.datasets if d.name == ds_name))


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
    out["goals"] = goals(cfg, out, sub.get(primary, {}))
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


def stage_ms(s: dict[str, Any], records: list[dict[str, Any]]) -> None:
    ids = set(s.get("ids", []))
    for row in s["settings"]:
        rs = [
            r
            for r in records
            if r["dataset"] == s["dataset"] and r["id"] in ids and label(r["strategy"], r["budget"]) == row["label"]
        ]
        stages = sorted({k for r in rs for k in r["stages"]})
        row["stage_ms"] = {k: float(np.mean([r["stages"].get(k, {}).get("ms", 0.0) for r in rs])) for k in stages}
