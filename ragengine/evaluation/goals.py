"""The eval report's two goals, judged on paired bootstraps of the same questions.

1. ragengine's best strategy reaches the top-k baseline's best answer accuracy at no more than
   half of its context tokens; 2. ragengine beats stock llama-index's answer accuracy while
   sending fewer prompt tokens. Each goal names the baseline, ragengine's candidate setting, the
   paired difference with its 95% interval and a verdict. Cost: one paired bootstrap per goal.
"""

from __future__ import annotations

from typing import Any

from ragengine.evaluation.config import BASELINES, EvalConfig
from ragengine.evaluation.stats import paired_bootstrap


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


def goals(
    cfg: EvalConfig, out: dict[str, Any], rows: dict[tuple[str, int | None], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The two goals, when the dataset has answers and both baselines (see the module docstring)."""
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
