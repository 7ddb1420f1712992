"""Retrieval benchmark (issue 3): BM25, dense, hybrid and hybrid + term re-rank on SciFact test and SQuAD.

    python -m ragengine.evaluation.retrieval_bench [--out eval/results] [--quick]

Writes ``retrieval.json``, ``retrieval.md`` and ``retrieval.png``: SciFact test nDCG@10 / recall@100
(bootstrap 95% intervals, paired test against hybrid), SQuAD v1.1 dev articles 25-48 recall@1/5/20
of the question's own paragraph (corpus: all 2,067 paragraphs), latency per stage, term re-rank
latency at 100 and 1,000 candidates, and FAISS Flat / IVF / HNSW recall-vs-speed on the real
embeddings with their size on disk. Only the shipped weights are used: fusion weights and the
expansion setting were tuned by ``ragengine train-reranker`` on the tune splits, never on these.
Token states are cached (``$RAGENGINE_CACHE``, default /tmp/ragengine-cache): the first run
encodes both corpora (~45 min on 2 cores), later runs take a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.evaluation.metrics import ndcg_at_k, recall_at_k
from ragengine.evaluation.stats import bootstrap_ci, paired_bootstrap
from ragengine.index.dense import DenseIndex
from ragengine.rerank.evalset import EvalSet, load_evalset
from ragengine.rerank.expansion import expand, vocabulary_vectors
from ragengine.rerank.recipe import term_matrix
from ragengine.rerank.sparse import TermMatrix
from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, TermWeighter, TermWeights, card_path, sha256_of
from ragengine.rerank.terms import TermReranker
from ragengine.types import Candidate

DEPTH = 100
METHODS = ("bm25", "dense", "hybrid", "hybrid+terms", "hybrid+terms+exp", "terms-only", "hybrid-minmax")


def _rankings(es: EvalSet, rr: dict[str, TermReranker]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {m: [] for m in METHODS}
    ids = es.doc_ids
    for i, q in enumerate(es.queries):
        out["bm25"].append([ids[r] for r in es.bm25_ranked(i, DEPTH)[0]])
        out["dense"].append([ids[r] for r in es.dense_ranked(i, DEPTH)[0]])
        cands, rows = es.candidates(i, DEPTH)
        out["hybrid"].append([ids[r] for r in rows[:DEPTH]])
        for name, key in (("hybrid+terms", "plain"), ("hybrid+terms+exp", "exp"), ("terms-only", "only")):
            out[name].append([c.chunk.doc_id for c in rr[key].rerank(q, cands, rows, es.qvecs[i])][:DEPTH])
        out["hybrid-minmax"].append([c.chunk.doc_id for c in rr["noterms"].rerank(q, cands, rows, es.qvecs[i])][:DEPTH])
    return out


def _ci(vals: list[float]) -> dict[str, float]:
    m, lo, hi = bootstrap_ci(vals, seed=0)
    return {"mean": round(m, 4), "lo": round(lo, 4), "hi": round(hi, 4)}


def quality(es: EvalSet, ranks: dict[str, list[list[str]]], scifact: bool) -> dict[str, Any]:
    rel = [{es.doc_ids[r]: g for r, g in q.items()} for q in es.qrels]
    res: dict[str, Any] = {"queries": len(es.queries)}
    per: dict[str, list[float]] = {}
    for m, runs in ranks.items():
        if scifact:
            per[m] = [ndcg_at_k(r, q, 10) for r, q in zip(runs, rel, strict=True)]
            rec = [recall_at_k(r, set(q), 100) for r, q in zip(runs, rel, strict=True)]
            res[m] = {"ndcg@10": _ci(per[m]), "recall@100": _ci(rec)}
        else:
            res[m] = {
                f"recall@{k}": _ci([recall_at_k(r, set(q), k) for r, q in zip(runs, rel, strict=True)])
                for k in (1, 5, 20)
            }
            per[m] = [recall_at_k(r, set(q), 1) for r, q in zip(runs, rel, strict=True)]
    res["paired_vs_hybrid"] = {m: paired_bootstrap(per[m], per["hybrid"], seed=0) for m in per if m != "hybrid"}
    return res


def _timed(fn: Callable[[int], Any], n: int, repeat: int = 1) -> dict[str, float]:
    """p50/p95 wall ms and p50 CPU ms (this process) per call: on a shared machine CPU time is the stabler cost."""
    ms, cpu = [], []
    for i in range(n):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(repeat):
            fn(i)
        ms.append((time.perf_counter() - t) * 1000 / repeat)
        cpu.append((time.process_time() - c) * 1000 / repeat)
    ms.sort()
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 3),
        "cpu_p50_ms": round(statistics.median(cpu), 3),
        "n": n,
    }


def latency(es: EvalSet, rr: TermReranker, n: int) -> dict[str, Any]:
    """Single-query wall time per stage (p50/p95 over ``n`` queries); term re-rank at 100 and 1,000 candidates."""
    from ragengine.embed.onnx_minilm import OnnxMiniLM

    emb = OnnxMiniLM()
    emb.embed(["warm up"])
    q, vec = es.queries, es.qvecs
    sets = {"100": [es.candidates(i, DEPTH) for i in range(n)], "1000": [es.candidates(i, 1000) for i in range(n)]}
    out: dict[str, Any] = {
        "embed_query_onnx": _timed(lambda i: emb.embed([q[i]]), n),
        "bm25_top100": _timed(lambda i: es.bm25.search([q[i]], DEPTH), n),
        "dense_flat_top100": _timed(lambda i: es.dense.search(vec[i : i + 1], DEPTH), n),
        "term_query_tokens": _timed(lambda i: rr.query.vector(q[i]), n, 5),
    }
    for label, cs in sets.items():
        cut = [(c[: int(label)], r[: int(label)]) for c, r in cs]

        def stage(i: int, cut: list[tuple[list[Candidate], np.ndarray]] = cut) -> Any:
            return rr.rerank(q[i], cut[i][0], cut[i][1], vec[i])

        def scorer(i: int, cut: list[tuple[list[Candidate], np.ndarray]] = cut) -> Any:
            return rr.term_scores(q[i], cut[i][1])

        def top100(i: int, cut: list[tuple[list[Candidate], np.ndarray]] = cut) -> Any:
            return rr.rerank(q[i], cut[i][0], cut[i][1], vec[i], k=100)

        out[f"term_rerank_{label}"] = _timed(stage, n, 3)
        if label == "1000":
            out["term_rerank_1000_keep_top100"] = _timed(top100, n, 3)
        out[f"term_scores_only_{label}"] = _timed(scorer, n, 3)
        out[f"candidates_{label}"] = round(float(np.mean([len(cut[i][1]) for i in range(n)])), 1)
    return out


def _one(idx: DenseIndex, queries: np.ndarray, i: int) -> Any:
    return idx.search(queries[i : i + 1], 10)


def index_kinds(name: str, vectors: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    flat = DenseIndex.build(vectors, "flat")
    truth = flat.search(queries, 10)[1]
    out: dict[str, Any] = {"n": len(vectors), "queries": len(queries), "kinds": {}}
    for kind, knob, values in (
        ("flat", None, [None]),
        ("ivf", "nprobe", [1, 2, 4, 8, 16, 32]),
        ("hnsw", "efSearch", [16, 32, 64, 128, 256]),
    ):
        t = time.perf_counter()
        idx = DenseIndex.build(vectors, kind)
        build_s = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as tmp:
            idx.save(Path(tmp))
            size = os.path.getsize(Path(tmp) / "dense.faiss")
        curve = []
        for v in values:
            if kind == "ivf":
                idx.index.nprobe = v
            elif kind == "hnsw":
                idx.index.hnsw.efSearch = v
            got = idx.search(queries, 10)[1]
            batch_s = float("inf")
            for _ in range(5):  # best of 5: one batch takes milliseconds, so a single timing is mostly noise
                t = time.perf_counter()
                idx.search(queries, 10)
                batch_s = min(batch_s, time.perf_counter() - t)
            single = _timed(partial(_one, idx, queries), min(200, len(queries)))
            rec = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got.tolist(), truth.tolist(), strict=True)]))
            curve.append(
                {
                    knob or "exact": v,
                    "recall@10_vs_flat": round(rec, 4),
                    "qps_batch": round(len(queries) / batch_s),
                    "single_p50_ms": single["p50_ms"],
                }
            )
        out["kinds"][kind] = {"build_s": round(build_s, 3), "bytes_on_disk": size, "curve": curve}
    return out


def indexing_cost(texts: list[str], weights: TermWeights, n: int = 48) -> dict[str, Any]:
    """Index-time cost of term weights on a sample: encoder pass + projection + CSR (tokens/s)."""
    tw = TermWeighter(weights)
    tw.passage_weights(texts[:2])
    sample = texts[:n]
    t = time.perf_counter()
    m = tw.passage_weights(sample)
    secs = time.perf_counter() - t
    n_tok = sum(len(x) for x in tw.encoder.token_ids(sample))
    return {
        "docs": n,
        "tokens": n_tok,
        "seconds": round(secs, 2),
        "tokens_per_s": round(n_tok / secs),
        "nnz_per_doc": round(m.nnz / n, 1),
    }


def sizes(es: EvalSet, terms: TermMatrix, terms_exp: TermMatrix) -> dict[str, int]:
    """Bytes on disk of each index part for this corpus (dense kinds are in ``index_kinds``)."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        terms.save(folder / "terms.npz")
        terms_exp.save(folder / "terms-expanded.npz")
        np.save(folder / "vectors.npy", es.vectors.astype(np.float16))
        es.bm25.save(folder)
        for p in folder.iterdir():
            out[p.name] = (
                p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            )
    return out


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


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def markdown(res: dict[str, Any]) -> str:
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
        *_table(
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
        *_table(
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
        *_table(
            ["method", "recall@1", "recall@5", "recall@20", "recall@1 vs hybrid"],
            [
                [LABELS[m], *(_f(qq[m][f"recall@{k}"]) for k in (1, 5, 20)), _p(qq["paired_vs_hybrid"].get(m))]
                for m in METHODS
            ],
        ),
        "",
        "## Latency per stage (one query at a time)",
        "",
        *_table(
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
    out += _table(
        ["corpus", "kind", "knob", "recall@10", "queries/s, batch", "ms/query, single", "build s", "bytes on disk"],
        rows,
    )
    b = {k: res[k]["bytes_on_disk"] for k in ("scifact-test", "squad-report")}
    out += [
        "",
        "Other index files (bytes on disk):",
        "",
        *_table(["corpus", *sorted(b["scifact-test"])], [[k, *(f"{v[n]:,}" for n in sorted(v))] for k, v in b.items()]),
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("scifact-test", "squad-report"), strict=True):
        ik = res[key]["index_kinds"]
        for kind, d in ik["kinds"].items():
            xs = [p["qps_batch"] for p in d["curve"]]
            ys = [p["recall@10_vs_flat"] for p in d["curve"]]
            ax.plot(xs, ys, "o-" if len(xs) > 1 else "s", label=kind)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("queries/s (batched, shared 2-core CPU)")
        ax.set_ylabel("recall@10 vs Flat")
        ax.set_title(f"{key}: {ik['n']:,} MiniLM vectors")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(out_dir: Path, quick: bool = False) -> dict[str, Any]:
    weights = TermWeights.load()
    cfg = weights.config
    card = json.loads(card_path(DEFAULT_WEIGHTS).read_text(encoding="utf-8"))
    vocab = vocabulary_vectors()
    ex = cfg.get("expansion", {"terms": 20, "scale": 0.5})
    res: dict[str, Any] = {
        "weights": {
            "file": DEFAULT_WEIGHTS.name,
            "sha256": sha256_of(DEFAULT_WEIGHTS),
            "fusion": cfg.get("fusion"),
            "fusion_without_terms": cfg.get("fusion_without_terms"),
            "expansion": ex,
            "expansion_gain": card.get("dev", {}).get("expansion_gain"),
            "tune_dev_ndcg10": card.get("dev", {}).get("dev_ndcg10"),
        },
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
    }
    for name, split in (("scifact", "test"), ("squad", "report")):
        es = load_evalset(name, split)
        if quick:
            es = es.subset(range(0, len(es.queries), 10))
        t = time.perf_counter()
        terms = term_matrix(es, weights)
        proj_s = time.perf_counter() - t
        terms_exp = expand(terms, es.vectors, *vocab, n_terms=ex["terms"], scale=ex["scale"])
        rr = {
            "plain": TermReranker(terms, weights=weights, vectors=es.vectors),
            "exp": TermReranker(terms_exp, weights=weights, vectors=es.vectors),
            "only": TermReranker(
                terms, vectors=es.vectors, fusion={"terms": 1.0}, dedupe=cfg.get("dedupe_query", False)
            ),
            "noterms": TermReranker(terms, vectors=es.vectors, fusion=cfg["fusion_without_terms"], dedupe=False),
        }
        ranks = _rankings(es, rr)
        key = f"{name}-{split}"
        res[key] = {
            "quality": quality(es, ranks, name == "scifact"),
            "corpus_docs": len(es.doc_ids),
            "term_nnz": terms.nnz,
            "term_nnz_expanded": terms_exp.nnz,
            "projection_s": round(proj_s, 2),
            "bytes_on_disk": sizes(es, terms, terms_exp),
        }
        res[key]["latency"] = latency(es, rr["plain"], min(len(es.queries), 100 if quick else 300))
        res[key]["index_kinds"] = index_kinds(name, es.vectors, es.qvecs)
        if name == "scifact":
            res["indexing_term_weights"] = indexing_cost(es.texts, weights, 16 if quick else 48)
        print(key, json.dumps(res[key]["quality"], indent=None)[:600], flush=True)
    res["machine"]["loadavg_at_end"] = os.getloadavg()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "retrieval.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    plot(res, out_dir / "retrieval.png")
    (out_dir / "retrieval.md").write_text(markdown(res), encoding="utf-8")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="retrieval benchmark: eval/results/retrieval.{json,md,png}")
    ap.add_argument("--out", type=Path, default=Path("eval/results"))
    ap.add_argument("--quick", action="store_true", help="every 10th query only (a smoke run)")
    ap.add_argument("--render", action="store_true", help="only rewrite the .md and .png from an existing .json")
    args = ap.parse_args(argv)
    if args.render:
        res = json.loads((args.out / "retrieval.json").read_text(encoding="utf-8"))
        plot(res, args.out / "retrieval.png")
        (args.out / "retrieval.md").write_text(markdown(res), encoding="utf-8")
        return 0
    run(args.out, args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
