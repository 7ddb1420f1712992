"""The eval harness's report: ``NAME.json`` (config, summary, timing, every record), ``NAME.md`` and figures.

``write_report`` summarises the records (``evaluation.summary``), draws three figures per
dataset (``harness_figures``) and writes the JSON and the Markdown; ``render_markdown`` makes the
Markdown from the JSON document alone, so a committed report can be rewritten from its JSON.
Timing lives in its own section (``timing`` in the JSON, "Timing" in the Markdown): it is the
only part that differs between two runs of the same config. Cost: the summary's bootstraps and
the figures (seconds).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from ragengine.errors import RagEngineError
from ragengine.evaluation.config import EvalConfig
from ragengine.evaluation.report.harness_figures import plot_dataset
from ragengine.evaluation.report.tables import interval, table
from ragengine.evaluation.summary import LABELS, SCALES, stage_ms, summarize, timing


class ReportError(RagEngineError):
    """A report file is missing or does not have the structure ``write_report`` gives it."""


def _digits(k: str) -> int:
    return 1 if SCALES.get(k, 1.0) != 1.0 else 3


def render_markdown(doc: dict[str, Any]) -> str:
    """``NAME.md`` from the report document (``NAME.json``): the config, summary, timing and records."""
    cfg, summary, tim, n_records = doc["config"], doc["summary"], doc["timing"], len(doc["records"])
    L = [f"# {cfg['name']}", ""]
    if cfg["description"]:
        L += [cfg["description"], ""]
    L += [
        f"Config `{cfg['source'] or cfg['name']}`; generator `{cfg['generator']}`; seed {cfg['seed']}; "
        f"{n_records} records. "
        f"Intervals are 95% percentile bootstraps over questions ({cfg['bootstrap']} resamples); comparisons are "
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


def _md_dataset(cfg: dict[str, Any], s: dict[str, Any]) -> list[str]:
    ds = next(d for d in cfg["datasets"] if d["name"] == s["dataset"])
    L = [f"## {s['dataset']}", ""]
    arts = ds["articles"]
    src = f"`{ds['path']}`" + (f", articles {arts[0]}-{arts[1]}" if arts else "")
    generator = ds["generator"] if ds.get("generator") is not None else cfg["generator"]
    L += [
        f"{ds['kind']} from {src}; {s['questions']} questions summarised"
        + (f" of {s['planned_questions']} planned" if s["planned_questions"] != s["questions"] else "")
        + f"; generator `{generator}`.",
        "",
    ]
    if not s["settings"]:
        return [*L, "No question has finished every setting yet.", ""]
    primary, metrics = s["primary"], s["metrics"]
    head = ["setting", "context tok", "prompt tok", "total tok"]
    head += [LABELS[k] for k in metrics]
    head += [f"{LABELS[primary]} per 1k {s['x_axis'].replace('_', ' ')}"]
    rows = []
    for r in s["settings"]:
        cells = [r["label"] + (" *" if r["label"] in s["pareto"] else "")]
        cells += [f"{r['context_tokens']:.0f}", f"{r['prompt_tokens']:.0f}", f"{r['total_tokens']:.0f}"]
        cells += [interval(r["metrics"][k], SCALES[k], _digits(k)) for k in metrics]
        cells += [interval(r.get("per_1k_tokens"))]
        rows.append(cells)
    L += table(head, rows)
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
                    f"  Top-k's best is {g['baseline']} ({interval(g['baseline_accuracy'])} at "
                    f"{g['baseline_context_tokens']:.0f} context tokens; half = {g['limit_context_tokens']:.0f})."
                )
                if "candidate" in g:
                    L.append(
                        f"  ragengine's best within that is {g['candidate']}: {interval(g['candidate_accuracy'])} at "
                        f"{g['candidate_context_tokens']:.0f} context tokens; {g['verdict']}."
                    )
                else:
                    L.append(f"  {g['verdict']}.")
            else:
                L.append(
                    f"  llama-index: {interval(g['baseline_accuracy'])} at "
                    f"{g['baseline_context_tokens']:.0f} context / "
                    f"{g['baseline_prompt_tokens']:.0f} prompt tokens."
                )
                if "candidate" in g:
                    L.append(
                        f"  ragengine's best with fewer prompt tokens is {g['candidate']}: "
                        f"{interval(g['candidate_accuracy'])} at {g['candidate_prompt_tokens']:.0f} prompt tokens; "
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
        ]
        L += table(
            ["strategy", *(LABELS[k] for k in metrics)],
            ([st, *(interval(vals.get(k), SCALES[k], _digits(k)) for k in metrics)] for st, vals in s["auc"].items()),
        )
        L.append("")
    if s["paired"]:
        L += [
            "### Paired comparisons",
            "",
            "Difference a - b on the same questions, 95% CI and two-sided bootstrap p-value.",
            "",
        ]
        rows = []
        for p in s["paired"]:
            sc, d = SCALES.get(p["metric"], 1.0), _digits(p["metric"])
            diff, ci = f"{p['diff'] * sc:+.{d}f}", f"[{p['lo'] * sc:+.{d}f}, {p['hi'] * sc:+.{d}f}]"
            rows.append([p["a"], p["b"], LABELS[p["metric"]], diff, ci, f"{p['p_value_two_sided']:.3f}"])
        L += [*table(["a", "b", "metric", "a - b", "95% CI", "p"], rows), ""]
    if s["retrieval"]:
        rows = [[name, k, interval(v), int(v[3])] for name, vals in s["retrieval"].items() for k, v in vals.items()]
        L += ["### Retrieval", "", *table(["ranking", "metric", "mean [95% CI]", "n"], rows), ""]
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
            stage_ms(s, recs)
            s["plots"] = plot_dataset(cfg.name, s, out)
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
    (out / f"{cfg.name}.md").write_text(render_markdown({**doc, "records": recs}), encoding="utf-8")
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
