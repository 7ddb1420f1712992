"""The retrieval benchmark's report: ``retrieval.md`` (goals, quality, latency, index kinds) and its figure.

Cost: formatting and one two-panel figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ragengine.evaluation.report.plots import pyplot, save
from ragengine.evaluation.report.tables import table

METHODS = ("bm25", "dense", "hybrid", "hybrid+terms", "hybrid+terms+exp", "terms-only", "hybrid-minmax")
LABELS = {
    "bm25": "BM25 (bm25s)",
    "dense": "dense (MiniLM, FAISS Flat)",
    "hybrid": "hybrid: RRF k=60 of BM25 + dense top 100",
    "hybrid+terms": "**hybrid + term re-rank**",
    "hybrid+terms+exp": "hybrid + term re-rank, expanded passages",
    "terms-only": "ablation: term scores alone, re-ranking the hybrid candidates",
    "hybrid-minmax": "ablation: tuned min-max fusion of BM25 + dense, no terms",
}


def _f(ci: dict[str, float]) -> str:
    return f"{ci['mean']:.3f} [{ci['lo']:.3f}, {ci['hi']:.3f}]"


def _p(d: dict[str, float] | None) -> str:
    return "" if d is None else f"{d['diff']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}] p={d['p_value_two_sided']:.3f}"


def markdown(res: dict[str, Any]) -> str:
    """``retrieval.md`` from the results (``retrieval.json``)."""
    sf, sq, w, mach = res["scifact-test"], res["squad-report"], res["weights"], res["machine"]
    qf, qq = sf["quality"], sq["quality"]
    nd, lat = qf["hybrid+terms"]["ndcg@10"], sf["latency"]
    exp_d = qf["paired_vs_hybrid"]["hybrid+terms+exp"]["diff"] - qf["paired_vs_hybrid"]["hybrid+terms"]["diff"]
    full, top = lat["term_rerank_1000"], lat["term_rerank_1000_keep_top100"]
    ms = lambda d: f"{d['p50_ms']:.1f} ms wall p50 ({d['cpu_p50_ms']:.1f} ms CPU)"  # noqa: E731
    out = [
        "# Retrieval benchmark: BM25, dense, hybrid, hybrid + TILDEv2-style term re-rank",
        "",
        "`python -m ragengine.evaluation.retrieval_bench` writes this file, `retrieval.json` and `retrieval.png`.",
        f"Weights `{w['file']}` (sha256 `{w['sha256'][:16]}`); fusion weights and the expansion decision come from",
        "`ragengine train-reranker`, tuned on SciFact train and SQuAD articles 1-24 only. Intervals: 95% bootstrap",
        "over queries; 'vs hybrid': paired bootstrap difference with its interval and p-value.",
        f"Timings: {mach['cpus']} CPUs shared with other jobs (load average "
        f"{mach['loadavg_at_start'][0]:.1f} at start, {mach['loadavg_at_end'][0]:.1f} at end),",
        "so wall times are inflated and noisy; CPU ms is this process's own time.",
        "",
        "## Goals",
        "",
        *table(
            ["goal", "result", "met"],
            [
                [
                    "SciFact test nDCG@10 of hybrid + term re-rank >= 0.70",
                    _f(nd),
                    "yes" if nd["mean"] >= 0.70 else "no",
                ],
                [
                    "re-rank 1,000 candidates in < 20 ms (2 cores)",
                    f"whole stage {ms(full)}; keeping the top 100: "
                    f"{ms(top)}; scorer alone {ms(lat['term_scores_only_1000'])}",
                    "yes"
                    if full["p50_ms"] < 20
                    else "in CPU time; in wall time only keeping the top 100"
                    if top["p50_ms"] < 20 and full["cpu_p50_ms"] < 20
                    else "no",
                ],
                [
                    "expansion kept only if it helps",
                    f"SciFact test nDCG@10 {exp_d:+.3f} vs no expansion; tune-split "
                    f"gain {w.get('expansion_gain', 0):+.4f}",
                    "not kept" if not w["expansion"].get("enabled") else "kept",
                ],
            ],
        ),
        "",
        f"## SciFact test ({qf['queries']} queries, {sf['corpus_docs']:,} abstracts)",
        "",
        *table(
            ["method", "nDCG@10", "recall@100", "nDCG@10 vs hybrid"],
            [
                [LABELS[m], _f(qf[m]["ndcg@10"]), _f(qf[m]["recall@100"]), _p(qf["paired_vs_hybrid"].get(m))]
                for m in METHODS
            ],
        ),
        "",
        "Anchors: BEIR's BM25 on SciFact 0.665 nDCG@10; before this work: BM25 0.662, dense 0.645, hybrid 0.686",
        "(recall@100 0.955). Re-ranking reorders all fused candidates (up to 200), so recall@100 can move.",
        "",
        f"## SQuAD v1.1 dev, articles 25-48 ({qq['queries']:,} questions, all {sq['corpus_docs']:,} paragraphs)",
        "",
        "Recall@k of the question's own paragraph.",
        "",
        *table(
            ["method", "recall@1", "recall@5", "recall@20", "recall@1 vs hybrid"],
            [
                [LABELS[m], *(_f(qq[m][f"recall@{k}"]) for k in (1, 5, 20)), _p(qq["paired_vs_hybrid"].get(m))]
                for m in METHODS
            ],
        ),
        "",
        "## Latency per stage (one query at a time)",
        "",
        *table(
            ["stage", "SciFact wall p50 / p95 ms", "CPU p50 ms", "SQuAD wall p50 / p95 ms", "CPU p50 ms"],
            [
                [
                    k,
                    f"{v['p50_ms']:.2f} / {v['p95_ms']:.2f}",
                    f"{v['cpu_p50_ms']:.2f}",
                    f"{sq['latency'][k]['p50_ms']:.2f} / {sq['latency'][k]['p95_ms']:.2f}",
                    f"{sq['latency'][k]['cpu_p50_ms']:.2f}",
                ]
                for k, v in lat.items()
                if isinstance(v, dict)
            ],
        ),
        "",
        "`term_rerank_N`: the whole stage over N candidates (query tokens, term scores, dense scores from the stored",
        "vectors, min-max fusion, sort, new Candidate objects); `..._keep_top100` builds only the 100 best;",
        "`term_scores_only_N`: the TILDEv2 scorer alone. Anchor: TILDEv2 re-ranks 1,000 passages in ~20 ms on a CPU.",
        f"Index time: term weights cost {res['indexing_term_weights']['tokens_per_s']:,} tokens/s here (encoder pass",
        "included; `passage_weights_and_vectors` also yields the dense vectors from that same pass).",
        "",
        "## Index kinds on the real embeddings (FAISS top-10, recall against Flat)",
        "",
    ]
    rows = []
    for key in ("scifact-test", "squad-report"):
        ik = res[key]["index_kinds"]
        for kind, d in ik["kinds"].items():
            for pt in d["curve"]:
                knob = next(
                    f"{a}={b}" for a, b in pt.items() if a not in ("recall@10_vs_flat", "qps_batch", "single_p50_ms")
                )
                rows.append(
                    [
                        f"{key} ({ik['n']:,} x 384, {ik['queries']:,} queries)",
                        kind,
                        knob.replace("exact=None", "exact"),
                        f"{pt['recall@10_vs_flat']:.3f}",
                        f"{pt['qps_batch']:,}",
                        f"{pt['single_p50_ms']:.3f}",
                        f"{d['build_s']:.2f}",
                        f"{d['bytes_on_disk']:,}",
                    ]
                )
    out += table(
        ["corpus", "kind", "knob", "recall@10", "queries/s, batch", "ms/query, single", "build s", "bytes on disk"],
        rows,
    )
    b = {k: res[k]["bytes_on_disk"] for k in ("scifact-test", "squad-report")}
    out += [
        "",
        "Other index files (bytes on disk):",
        "",
        *table(["corpus", *sorted(b["scifact-test"])], [[k, *(f"{v[n]:,}" for n in sorted(v))] for k, v in b.items()]),
        "",
        "## Fusion and expansion",
        "",
        f"Fusion: per query, each feature is min-max normalised over the candidates, then `{json.dumps(w['fusion'])}`",
        "(grid search of the BM25 and dense weights with the term weight fixed at 1, maximising the mean nDCG@10 of",
        "the held-out 20% of SciFact train and SQuAD articles 1-24 questions; the other 80% trained the projection).",
        f"Without terms (ablation row): `{json.dumps(w['fusion_without_terms'])}`.",
        f"Expansion: `{json.dumps(w['expansion'])}`.",
        "",
    ]
    return "\n".join(out) + "\n"


def plot(res: dict[str, Any], path: Path) -> None:
    """Recall@10 against batched queries/s of each FAISS index kind, one panel per corpus."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("scifact-test", "squad-report"), strict=True):
        ik = res[key]["index_kinds"]
        for kind, d in ik["kinds"].items():
            xs = [p["qps_batch"] for p in d["curve"]]
            ys = [p["recall@10_vs_flat"] for p in d["curve"]]
            ax.plot(xs, ys, "o-" if len(xs) > 1 else "s", label=kind)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel("queries/s (batched, shared 2-core CPU)")
        ax.set_ylabel("recall@10 vs Flat")
        ax.set_title(f"{key}: {ik['n']:,} MiniLM vectors")
        ax.grid(alpha=0.3)
        ax.legend()
    save(fig, path)


def write_report(res: dict[str, Any], out_dir: Path) -> None:
    """Write ``retrieval.json``, ``retrieval.png`` and ``retrieval.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "retrieval.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    render(res, out_dir)


def render(res: dict[str, Any], out_dir: Path) -> None:
    """Rewrite ``retrieval.png`` and ``retrieval.md`` in ``out_dir`` from the results."""
    plot(res, out_dir / "retrieval.png")
    (out_dir / "retrieval.md").write_text(markdown(res), encoding="utf-8")
