"""The tuning reports: ``selector-tuning.md`` (MCTS reward settings) and ``prompt-tuning.md`` (reader prompts).

Both are made from their JSON documents alone, so a committed report can be rewritten from its
JSON. Cost: string formatting only.
"""

from __future__ import annotations

import json
from typing import Any

from ragengine.evaluation.report.tables import interval, table


def render_selector_tuning(doc: dict[str, Any]) -> str:
    """``selector-tuning.md``: every reward setting's recall per budget and the chosen default."""
    budgets = doc["budgets"]
    lines = [
        f"# MCTS reward tuning (SQuAD v1.1 dev articles 1-24, {doc['questions']} questions)",
        "",
        "Gold answer in the selected context; corpus = all 2,067 dev paragraphs, 128-token chunks, "
        "hybrid RRF, 30 candidates. Tune half only: the report half (articles 25-48) is never used here.",
        "",
    ]
    rows = [
        [r["strategy"], f"`{json.dumps(r['options'])}`", *(f"{r['recall'][str(b)]:.3f}" for b in budgets),
         f"{r['mean']:.3f}"]
        for r in doc["rows"]
    ]  # fmt: skip
    lines += table(["strategy", "reward options", *(f"@{b}" for b in budgets), "mean"], rows)
    lines += ["", f"Chosen default: `{json.dumps(doc['best']['options'])}` (best mean)."]
    return "\n".join(lines) + "\n"


def render_prompt_tuning(doc: dict[str, Any], variants: dict[str, str] | None = None) -> str:
    """``prompt-tuning.md``: every prompt variant under every stop rule, paired against the original.

    ``variants`` (name -> note) lists every variant tried; by default those with rows in ``doc``.
    """
    lines = [
        "# Short-answer prompt tuning (SmolLM2-135M-Instruct)",
        "",
        f"Tune half only: {doc['questions']} questions sampled (seed 0) from SQuAD v1.1 dev articles 1-24; "
        f"context = greedy selection at {doc['budget']} tokens from the eval index (the same context for every "
        "variant); llama.cpp, temperature 0, 32 new tokens. Answer accuracy = normalised gold contained in the "
        "normalised answer. 95% bootstrap intervals (1,000 resamples); differences are paired against the "
        "original prompt on the same questions.",
        "",
    ]
    rows = []
    for r in doc["rows"]:
        d = r.get("vs_original", {}).get("acc")
        diff = f"{d['diff']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]" if d else "-"
        rows.append(
            [r["variant"], interval(r["answer_accuracy"]), interval(r["f1"], 100, 1), interval(r["em"], 100, 1),
             f"{r['prompt_tokens']:.0f}", f"{r['mean_answer_words']:.1f}", f"{r['generate_ms'] / 1000:.2f}", diff]
        )  # fmt: skip
    head = ["variant", "answer accuracy", "F1", "EM", "prompt tokens", "answer words", "s/answer"]
    lines += table([*head, "accuracy vs original"], rows)
    notes = variants or {r["variant"].split(" / stop ")[0]: r["note"] for r in doc["rows"]}
    lines += [
        "",
        f"Gold answer in the context given: {doc['rows'][0]['gold_in_context']:.3f} (the ceiling for every variant).",
        "",
        f"**Chosen (highest answer accuracy, then F1): {doc['best']}.** It is the default in "
        "`ragengine/generate/prompt.py`.",
        "",
        "Variants: " + "; ".join(f"`{name}`: {note}" for name, note in notes.items()) + ". Stop rules: `newline` "
        "ends the reply at the first line break (the llama.cpp generator's stop); `newline+sentence` also ends it "
        "at the first '. ' (the end of the first sentence).",
    ]
    return "\n".join(lines) + "\n"
