"""``ragengine train-reranker``: rebuild the shipped term re-ranker weights from ../shared/data and a seed.

Steps: token states of SciFact and SQuAD v1.1 dev (cached), BM25 hard negatives for SciFact
train qrels and SQuAD articles 1-24 questions (negatives from the tune-half paragraphs only),
numpy training of the projection on 80% of those queries, then a grid search of the fusion
weights on the held-out 20% (``evalset.in_dev_fold``). SciFact test and SQuAD articles 25-48
are never read. Writes ``tilde-minilm-v1.npz`` and its JSON card (data, seed, hyper-parameters,
sha256, date). Cost: ~45 minutes of encoding on 2 cores the first time, ~2 minutes afterwards.

    ragengine train-reranker --seed 0 --out ragengine/rerank/weights/tilde-minilm-v1.npz
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.evaluation.testbeds import EvalSet, in_dev_fold, load_evalset, term_matrix
from ragengine.rerank.encoder import TokenEncoder
from ragengine.rerank.expansion import expand, vocabulary_vectors
from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, TermWeights, card_path, content_mask, sha256_of
from ragengine.rerank.terms import QueryTerms, TermReranker
from ragengine.training.fusion import QueryFeatures, collect, grid_search, mean_ndcg
from ragengine.training.projection import (
    Group,
    TrainConfig,
    build_match_data,
    hard_negative_groups,
    train_projection,
)

log = logging.getLogger(__name__)
WINDOW, OVERLAP = 256, 32
DESCRIPTION = "Rebuild the shipped term re-ranker weights from ../shared/data and a seed."


def training_groups(es: EvalSet, keep: Sequence[int], seed: int, depth: int = 30) -> list[Group]:
    qt = QueryTerms(dedupe=False)
    ranked = [es.bm25_ranked(i, depth)[0] for i in keep]
    return hard_negative_groups(
        [qt.ids(es.queries[i]) for i in keep],
        [sorted(es.qrels[i]) for i in keep],
        ranked,
        es.name,
        len(es.doc_ids),
        depth=depth,
        seed=seed,
    )


def train_and_tune(
    beds: dict[str, EvalSet], cfg: TrainConfig, *, depth: int = 100, cache_dir: Path | None = None
) -> tuple[TermWeights, dict[str, Any]]:
    """Train on the non-dev queries of every bed, tune fusion on their dev folds; returns weights and a report."""
    groups: list[Group] = []
    dev: dict[str, EvalSet] = {}
    for name, es in beds.items():
        train_idx = [i for i, q in enumerate(es.query_ids) if not in_dev_fold(q) and es.qrels[i]]
        dev_idx = [i for i, q in enumerate(es.query_ids) if in_dev_fold(q) and es.qrels[i]]
        groups += training_groups(es, train_idx, cfg.seed)
        dev[name] = es.subset(dev_idx)
        log.info("%s: %d training queries, %d dev queries", name, len(train_idx), len(dev_idx))
    corpora = {es.name: es.states for es in beds.values()}
    data = build_match_data(groups, corpora, dedupe=cfg.dedupe_query)
    log.info("%d groups, %d matching positions", len(groups), len(data.x))
    weights = train_projection(data, cfg)
    mask = content_mask()
    matrices = {name: term_matrix(es, weights, mask) for name, es in dev.items()}

    def features(expansion: dict[str, Any] | None) -> dict[str, list[QueryFeatures]]:
        out = {}
        for name, es in dev.items():
            m = matrices[name]
            if expansion:
                m = expand(m, es.vectors, *vocab, n_terms=expansion["terms"], scale=expansion["scale"])
            out[name] = collect(es, TermReranker(m, vectors=es.vectors, fusion={}, dedupe=cfg.dedupe_query), depth)
        return out

    feats = features(None)
    fusion, grid = grid_search(feats)
    no_terms = max(
        ({"method": "minmax", "bm25": r["bm25"], "dense": r["dense"], "terms": 0.0} for r in grid),
        key=lambda f: sum(mean_ndcg(q, f) for q in feats.values()),
    )
    terms_only = {"method": "minmax", "terms": 1.0}
    report: dict[str, Any] = {
        "groups": len(groups),
        "matching_positions": len(data.x),
        "dev_queries": {n: len(es.queries) for n, es in dev.items()},
        "dev_ndcg10": {
            n: {
                "hybrid_rrf": mean_ndcg(f, None),
                "minmax_bm25_dense": mean_ndcg(f, no_terms),
                "terms_only": mean_ndcg(f, terms_only),
                "fused": mean_ndcg(f, fusion),
            }
            for n, f in feats.items()
        },
        "fusion_grid": grid,
    }
    base = float(np.mean([mean_ndcg(f, fusion) for f in feats.values()]))
    vocab = vocabulary_vectors(cache_dir)
    exp_rows = []
    for n_terms, scale in itertools.product((10, 30), (0.25, 0.5, 1.0)):
        ef = features({"terms": n_terms, "scale": scale})
        exp_rows.append({"terms": n_terms, "scale": scale} | {n: mean_ndcg(f, fusion) for n, f in ef.items()})
        exp_rows[-1]["objective"] = float(np.mean([exp_rows[-1][n] for n in ef]))
    best = max(exp_rows, key=lambda r: r["objective"])
    report["expansion_grid"] = exp_rows
    report["expansion_gain"] = best["objective"] - base
    weights.config |= {
        "expansion": {
            "enabled": bool(best["objective"] - base > 0.002),
            "terms": best["terms"],
            "scale": best["scale"],
        },
        "fusion_without_terms": no_terms,
        "fusion": fusion,
        "dedupe_query": cfg.dedupe_query,
        "window": WINDOW,
        "overlap": OVERLAP,
        "candidate_depth": depth,
    }
    return weights, report


def write_weights(weights: TermWeights, out: Path, card_extra: dict[str, Any]) -> str:
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = weights.save(out)
    card = {
        "name": out.stem,
        "model": "TILDEv2-style term weights on all-MiniLM-L6-v2 (ONNX int8) token states",
        "sha256": digest,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "config": weights.config,
        "reproduce": f"ragengine train-reranker --seed {weights.config['train']['seed']} --out {out.name}",
    } | card_extra
    card_path(out).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return digest


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ragengine train-reranker", description=DESCRIPTION)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--data", type=Path, default=None, help="benchmark data folder (default ../shared/data)")
    ap.add_argument("--cache", type=Path, default=None, help="token-state cache (default /tmp/ragengine-cache)")
    ap.add_argument("--hidden", type=int, default=TrainConfig.hidden)
    ap.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--dedupe-query", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    enc = TokenEncoder(window=WINDOW, overlap=OVERLAP)
    beds = {
        "scifact-train": load_evalset("scifact", "train", root=args.data, cache_dir=args.cache, encoder=enc),
        "squad-tune": load_evalset("squad", "tune", root=args.data, cache_dir=args.cache, encoder=enc),
    }
    cfg = TrainConfig(
        hidden=args.hidden, epochs=args.epochs, lr=args.lr, seed=args.seed, dedupe_query=args.dedupe_query
    )
    weights, report = train_and_tune(beds, cfg, cache_dir=args.cache)
    before = sha256_of(args.out) if args.out.is_file() else None
    digest = write_weights(
        weights,
        args.out,
        {
            "training_data": {
                "scifact": "BEIR SciFact train qrels (80%; 20% dev fold for fusion), corpus 5,183 abstracts",
                "squad": "SQuAD v1.1 dev articles 1-24 questions (80%; 20% dev fold), tune-half paragraphs only",
                "negatives": "7 per positive, drawn from the BM25 top 30 (bm25s, lucene k1=1.5 b=0.75)",
            },
            "dev": {k: v for k, v in report.items() if k != "fusion_grid"},
        },
    )
    print(json.dumps(report["dev_ndcg10"], indent=2))
    print(
        f"wrote {args.out} sha256 {digest}"
        + ("" if before is None else f" (before: {before}, same: {before == digest})")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
