"""The performance report: Markdown tables and one figure from ``ragengine bench perf``'s JSON.

Cost: formatting, and one matplotlib figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ragengine.evaluation.report.plots import pyplot, save
from ragengine.evaluation.report.tables import table

TARGET_PLAIN, TARGET_CLUSTERS, TARGET_ADD = 0.90, 0.80, 0.05


def _rate(n: int, s: float) -> str:
    return f"{n / s:.1f}" if s > 0 else "-"


def _mark(x: float, target: float, above: bool = True) -> str:
    ok = x >= target if above else x <= target
    return f"{x:.3f} ({'met' if ok else 'missed'}, target {'>=' if above else '<='} {target})"


def render_markdown(doc: dict[str, Any]) -> str:
    cs = doc["corpora"]
    out = [
        "# Performance: indexing, updates, memory and queries",
        "",
        f"`{doc['command'].strip()}` on {doc['machine']['cpus']} CPUs, {doc['created']}. Each corpus ran in a fresh "
        "process; every ratio is against a baseline measured in that same process on the same texts.",
        "",
        "## Index throughput against the raw encoder",
        "",
        "Raw encoder: the int8 MiniLM session with its tokenizer and mean pooling (`OnnxMiniLM.embed`) over the "
        "chunk texts. A build adds chunking (SmolLM2 token counts), term weights, FAISS, BM25, files, and with "
        "clusters k-means, the sentence table and summaries; its sentence vectors come from the same encoder pass.",
        "",
    ]
    rows = []
    for name, r in cs.items():
        n, raw = r["chunks"], r["raw_encoder"]
        b, c = r["build"], r["build_clusters"]
        rows.append(
            [
                name,
                n,
                f"{_rate(n, raw['wall_s'])} ({raw['wall_s']:.1f} s, CPU {raw['cpu_s']:.1f} s)",
                f"{_rate(n, b['wall_s'])} ({b['wall_s']:.1f} s, CPU {b['cpu_s']:.1f} s)",
                _mark(b["throughput_ratio"], TARGET_PLAIN),
                f"{_rate(n, c['wall_s'])} ({c['wall_s']:.1f} s)",
                _mark(c["throughput_ratio"], TARGET_CLUSTERS),
            ]
        )
    head = ["corpus", "chunks", "raw chunks/s", "build chunks/s", "build / raw", "with clusters", "clusters / raw"]
    out += table(head, rows)
    out += ["", "## Memory: peak RSS of each phase", ""]
    rows = [
        [
            name,
            r["chunks"],
            r["raw_encoder"]["peak_rss_mb"],
            r["build"]["peak_rss_mb"],
            r["build"]["index_mb"],
            r["build_clusters"]["peak_rss_mb"],
            r["build_clusters"]["index_mb"],
        ]
        for name, r in cs.items()
    ]
    out += table(
        ["corpus", "chunks", "raw encoder MB", "build MB", "index MB", "build+clusters MB", "index+clusters MB"], rows
    )
    big = [k for k in ("5k", "50k") if k in cs]
    if len(big) == 2:
        a, b = cs["5k"], cs["50k"]
        grow = b["build_clusters"]["peak_rss_mb"] - a["build_clusters"]["peak_rss_mb"]
        idx = b["build_clusters"]["index_mb"] - a["build_clusters"]["index_mb"]
        out += [
            "",
            f"From 5k to 50k chunks the clustered build's peak grew by {grow} MB; its index grew by {idx:.0f} MB.",
        ]
    out += ["", "## Updates against a full build", ""]
    rows = []
    for name, r in cs.items():
        for key, full in (("noop", "build"), ("noop_clusters", "build_clusters")):
            u = r[key]
            rows.append([name, f"`index` again, nothing changed ({full})", f"{u['wall_s']:.2f}",
                         f"{u['wall_s'] / r[full]['wall_s']:.3f}", u["result"]["chunks_embedded"]])  # fmt: skip
        for key in ("add_one", "add_one_clusters"):
            u = r[key]
            rows.append([name, f"`add` 1 document ({'clusters' if 'clusters' in key else 'plain'})",
                         f"{u['wall_s']:.2f}", _mark(u["share_of_full_build"], TARGET_ADD, above=False),
                         u["result"]["chunks_embedded"]])  # fmt: skip
    out += table(["corpus", "update", "seconds", "share of full build", "chunks encoded"], rows)
    out += ["", "## Queries (warm, no generation, 256-token budget)", ""]
    rows = []
    for name, r in cs.items():
        q = r["query"]
        st = ", ".join(f"{s} {v['p50']:.1f}/{v['p95']:.1f}" for s, v in q["stages_ms"].items())
        rows.append([name, r["chunks"], q["questions"], f"{q['engine_total_ms']['p50']:.1f} / "
                     f"{q['engine_total_ms']['p95']:.1f}", f"{q['raw_ms']['p50']:.1f} / {q['raw_ms']['p95']:.1f}",
                     f"{q['overhead_ratio_p50']:.2f}", st])  # fmt: skip
    out += table(["corpus", "chunks", "questions", "engine p50 / p95 ms", "raw p50 / p95 ms", "engine / raw",
                  "stages p50/p95 ms"], rows)  # fmt: skip
    out += [
        "",
        "Raw: the encoder embeds the question, FAISS flat and bm25s each return 30 candidates. The engine adds "
        "fusion, the term re-ranker, clusters (none here), evidence selection and assembly.",
    ]
    cold = cs.get("demo", {}).get("cold_start")
    if cold:
        out += ["", "## Cold start (demo index, extractive answer)", ""]
        out += table(
            ["import s", "open s", "first ask s", "second ask s", "process s", "CLI `ragengine ask` s (median of 3)"],
            [
                [
                    cold["import_s"],
                    cold["open_s"],
                    cold["first_ask_s"],
                    cold["second_ask_s"],
                    round(cold["process_s"], 2),
                    cold["cli_median_s"],
                ]
            ],
        )
        stages = ", ".join(f"{k} {v:.0f} ms" for k, v in cold["first_ask_stages_ms"].items())
        out += ["", f"First question's stages (loading included where it happens): {stages}."]
    prof = cs.get("squad", {}).get("profile")
    if prof:
        total = sum(prof.values())
        out += ["", "## Where a clustered build's time goes (SQuAD dev, cProfile self time)", ""]
        rows = [[k, f"{v:.1f}", f"{v / total:.0%}"] for k, v in sorted(prof.items(), key=lambda kv: -kv[1])]
        out += table(["part", "seconds", "share"], rows)
    out += ["", "![throughput](perf.png)", ""]
    return "\n".join(out)


def plot(doc: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    cs = doc["corpora"]
    names = list(cs)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    w = 0.27
    for i, (key, label) in enumerate(
        (("raw_encoder", "raw encoder"), ("build", "build"), ("build_clusters", "build + clusters"))
    ):
        ys = [cs[n]["chunks"] / cs[n][key]["wall_s"] for n in names]
        ax1.bar([x + (i - 1) * w for x in range(len(names))], ys, w, label=label)
    ax1.set_xticks(range(len(names)), [f"{n}\n{cs[n]['chunks']} chunks" for n in names])
    ax1.set_ylabel("chunks / s (wall)")
    ax1.set_title("Index throughput")
    ax1.legend()
    for key, label in (("build", "build"), ("build_clusters", "build + clusters")):
        ax2.plot(
            [cs[n]["chunks"] for n in names],
            [cs[n][key]["peak_rss_mb"] for n in names],
            "o-",
            label=f"{label} peak RSS",
        )
        ax2.plot(
            [cs[n]["chunks"] for n in names],
            [cs[n][key]["index_mb"] for n in names],
            "x--",
            label=f"{label} index size",
        )
    ax2.set_xscale("log")
    ax2.set_xlabel("chunks")
    ax2.set_ylabel("MB")
    ax2.set_title("Build memory against index size")
    ax2.legend(fontsize=8)
    save(fig, path)


def write_outputs(doc: dict[str, Any], out: Path) -> tuple[Path, Path, Path]:
    out.parent.mkdir(parents=True, exist_ok=True)
    j, m, p = out.with_suffix(".json"), out.with_suffix(".md"), out.with_suffix(".png")
    j.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    m.write_text(render_markdown(doc), encoding="utf-8")
    plot(doc, p)
    return j, m, p
