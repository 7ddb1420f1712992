"""Retrieval benchmark: BM25, dense, hybrid and hybrid + term re-rank on SciFact test and SQuAD.

    ragengine bench retrieval [--out eval/results] [--quick | --smoke]

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
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.evaluation.experiments.retrieval_costs import DEPTH, index_kinds, indexing_cost, latency, sizes
from ragengine.evaluation.metrics import ndcg_at_k, recall_at_k
from ragengine.evaluation.report.retrieval import METHODS, render, write_report
from ragengine.evaluation.stats import bootstrap_ci, paired_bootstrap
from ragengine.evaluation.testbeds import EvalSet, load_evalset, term_matrix
from ragengine.rerank.expansion import expand, expansion_vocabulary, vocabulary_vectors
from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, TermWeights, card_path, sha256_of
from ragengine.rerank.terms import TermReranker

# report slot -> (test bed, split)
BEDS = {"scifact-test": ("scifact", "test"), "squad-report": ("squad", "report")}
SMOKE_BEDS = {"scifact-test": ("xquad", "tune"), "squad-report": ("xquad", "report")}


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


def run(out_dir: Path, quick: bool = False, smoke: bool = False) -> dict[str, Any]:
    """Measure every method on both beds and write the report into ``out_dir``; returns the results.

    ``quick``: every 10th query; ``smoke``: the bundled XQuAD in both slots (tune half for the
    SciFact slot), every 20th query, 10 latency queries and a 2,000-word expansion vocabulary.
    """
    weights = TermWeights.load()
    cfg = weights.config
    card = json.loads(card_path(DEFAULT_WEIGHTS).read_text(encoding="utf-8"))
    vocab = smoke_vocabulary() if smoke else vocabulary_vectors()
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
    beds = SMOKE_BEDS if smoke else BEDS
    for key, (name, split) in beds.items():
        graded = key == "scifact-test"  # nDCG@10 and recall@100; the SQuAD slot: recall@1/5/20
        es = load_evalset(name, split)
        if quick or smoke:
            es = es.subset(range(0, len(es.queries), 20 if smoke else 10))
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
        res[key] = {
            "quality": quality(es, ranks, graded),
            "corpus_docs": len(es.doc_ids),
            "term_nnz": terms.nnz,
            "term_nnz_expanded": terms_exp.nnz,
            "projection_s": round(proj_s, 2),
            "bytes_on_disk": sizes(es, terms, terms_exp),
        }
        n_latency = 10 if smoke else 100 if quick else 300
        res[key]["latency"] = latency(es, rr["plain"], min(len(es.queries), n_latency))
        res[key]["index_kinds"] = index_kinds(name, es.vectors, es.qvecs)
        if graded:
            res["indexing_term_weights"] = indexing_cost(es.texts, weights, 8 if smoke else 16 if quick else 48)
        print(key, json.dumps(res[key]["quality"], indent=None)[:600], flush=True)
    res["machine"]["loadavg_at_end"] = os.getloadavg()
    write_report(res, out_dir)
    return res


def smoke_vocabulary(n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` words of the expansion vocabulary and their MiniLM vectors (a smoke run's stand-in)."""
    from ragengine.embed.onnx_minilm import OnnxMiniLM

    ids, words = expansion_vocabulary()
    vecs = OnnxMiniLM(max_length=16).embed(list(words[:n]), batch_size=256).astype(np.float16)
    return np.asarray(ids[:n]), vecs


def main(argv: list[str] | None = None) -> int:
    """``ragengine bench retrieval [--quick | --smoke] [--render]``; 0 when the report is written."""
    ap = argparse.ArgumentParser(
        prog="ragengine bench retrieval", description="retrieval benchmark: eval/results/retrieval.{json,md,png}"
    )
    ap.add_argument("--out", type=Path, default=Path("eval/results"))
    ap.add_argument("--quick", action="store_true", help="every 10th query only")
    ap.add_argument(
        "--smoke", action="store_true", help="the bundled XQuAD in both slots, a few queries (checks the bench runs)"
    )
    ap.add_argument("--render", action="store_true", help="only rewrite the .md and .png from an existing .json")
    args = ap.parse_args(argv)
    if args.render:
        render(json.loads((args.out / "retrieval.json").read_text(encoding="utf-8")), args.out)
        return 0
    run(args.out, args.quick, args.smoke)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
