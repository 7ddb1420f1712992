"""CRAG token savings, query-rewriting recall per token, and answer-cache hits and false hits.

Run: ``ragengine bench crag-rewrite-cache`` -> ``eval/results/crag-rewrite-cache.{md,json,png}``;
``--smoke`` runs a few bundled XQuAD questions on the fake embedder (parts crag and cache).

(a) SQuAD v1.1 dev, corpus = all 2,067 paragraphs (128-token chunks), questions from articles
    25-48: gold-answer-in-context against context tokens, plain hybrid candidates vs CRAG
    candidates, greedy and MCTS; the tokens CRAG needs to reach plain retrieval's rate at 512.
(b) HotpotQA / MuSiQue train-100: supporting-paragraph recall of the selected context for
    ``--rewrite none|prf|llm`` (SmolLM2-135M, grammar-constrained JSON), gain per extra LLM token.
(c) SQuAD answer cache (``experiments.cache``): one question per paragraph is cached; exact
    repeats and rule-made paraphrases should hit; the paragraph's other questions must not.
Indexes (with clusters) and LLM replies are kept under ``--work`` and reused by a re-run. Cost:
about an hour on 2 cores cold (index builds and 100 LLM rewrites), minutes when replayed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ragengine import Budget, Engine
from ragengine.cluster import ClusterAugmenter, build_clusters, has_clusters, load_clusters, save_clusters
from ragengine.evaluation.datasets import SQUAD_REPORT, load_hipporag, load_squad
from ragengine.evaluation.experiments.cache import RAW, cache_part
from ragengine.evaluation.indexes import SMOKE_MODELS, ensure_index
from ragengine.evaluation.metrics import answer_in_context
from ragengine.evaluation.report.crag import write_report
from ragengine.evaluation.stats import paired_bootstrap
from ragengine.generate.prompt import format_context
from ragengine.rewrite import LLMRewriter, NoRewriter, PRFRewriter, fuse_retrievals
from ragengine.rewrite.chat import MemoChat

REPO = Path(__file__).resolve().parents[3]
DATA = REPO.parent / "shared" / "data"
SQUAD = DATA / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json"
XQUAD = REPO / "ragengine" / "data" / "xquad-en" / "xquad.en.json"  # bundled: the --smoke corpus
MULTI = {"hotpotqa": DATA / "hotpotqa-train100-hipporag", "musique": DATA / "musique-train100-hipporag"}
CRAG = {"top_clusters": 3, "excerpt_tokens": 64, "excerpt_blocks": 6}
BUDGETS = (64, 96, 128, 192, 256, 320, 384, 448, 512)
RUNS = {  # name: (candidate list, strategy)
    "plain-greedy": ("plain", "greedy"),
    "plain-mcts": ("plain", "mcts"),
    "crag-greedy": ("crag", "greedy"),
    "crag-mcts": ("crag", "mcts"),
    "crag-no-excerpt-greedy": ("coarse", "greedy"),
}
log = logging.getLogger(__name__)


def ensure_clusters(folder: Path) -> Path:
    """Add CRAG clusters to the index at ``folder`` unless it has them (from its stored vectors)."""
    if not has_clusters(folder):
        eng = Engine.from_index(folder, generator="none", config=RAW)
        idx = eng.index
        save_clusters(folder, build_clusters(idx.chunks, np.asarray(idx.vectors), eng.counter, embedder=eng.embedder))
    return folder


def tokens_to_reach(rates: list[float], tokens: list[float], target: float) -> float | None:
    """Mean context tokens at which a budget sweep first reaches ``target`` (linear interpolation)."""
    for i, (r, t) in enumerate(zip(rates, tokens, strict=True)):
        if r >= target - 1e-12:
            if i == 0 or rates[i - 1] >= r:
                return t
            f = (target - rates[i - 1]) / (r - rates[i - 1])
            return tokens[i - 1] + f * (t - tokens[i - 1])
    return None


def crag_part(folder: Path, n: int, seed: int = 0, squad: Path = SQUAD) -> dict[str, Any]:
    """(a): every run of ``RUNS`` at every budget of ``BUDGETS`` on ``n`` report-half questions."""
    eng = Engine.from_index(folder, generator="none", config=RAW)
    cs = load_clusters(folder, eng.index.chunks)
    aug = ClusterAugmenter(eng.index, cs, eng.counter, **CRAG)  # type: ignore[arg-type]
    coarse = ClusterAugmenter(eng.index, cs, eng.counter, granularities=("member", "summary"))
    exs = load_squad(squad, SQUAD_REPORT)
    exs = exs[:: max(1, len(exs) // n)][:n]
    hits = np.zeros((len(RUNS), len(BUDGETS), len(exs)))
    used = np.zeros_like(hits)
    grans: dict[str, dict[str, int]] = {m: defaultdict(int) for m in RUNS}
    ms = []
    for qi, e in enumerate(exs):
        ret = eng.retrieve(e.question)
        t = time.perf_counter()
        lists = {"plain": ret, "crag": replace(aug.augment(e.question, ret), query_vector=None)}
        ms.append((time.perf_counter() - t) * 1000)
        lists["coarse"] = replace(coarse.augment(e.question, ret), query_vector=None)
        for mi, (m, (kind, strategy)) in enumerate(RUNS.items()):
            for bi, b in enumerate(BUDGETS):
                a = eng.ask(e.question, Budget(context_tokens=b), strategy=strategy, retrieved=lists[kind])
                hits[mi, bi, qi] = answer_in_context(format_context([c.text for c in a.citations]), e.answers)
                used[mi, bi, qi] = a.cost.context_tokens
                for c in a.citations if b == 256 else ():
                    grans[m][str(c.metadata.get("granularity", "chunk"))] += 1

    def savings(idx: np.ndarray) -> list[float | None]:
        rate, tok = hits[:, :, idx].mean(axis=2), used[:, :, idx].mean(axis=2)
        target, ref = rate[0, -1], tok[0, -1]
        need = [tokens_to_reach(list(rate[m]), list(tok[m]), target) for m in range(len(RUNS))]
        return [None if x is None else 1 - x / ref for x in need]

    rng = np.random.default_rng(seed)
    boot = [savings(rng.integers(0, len(exs), len(exs))) for _ in range(300)]
    point = savings(np.arange(len(exs)))
    out: dict[str, Any] = {"questions": len(exs), "budgets": list(BUDGETS), "augment_ms_p50": float(np.median(ms))}
    out["params"] = {**CRAG, "k": cs.k, "k_rule": cs.params["k_rule"], "summary_cap_tokens": 96}
    out["target_rate"], out["reference_tokens"] = float(hits[0, -1].mean()), float(used[0, -1].mean())
    rate, tok = hits.mean(axis=2), used.mean(axis=2)
    iso = {}  # tokens each method needs to match plain-greedy's rate at each of its budgets
    for bi, b in enumerate(BUDGETS[2:], start=2):
        need = {m: tokens_to_reach(list(rate[mi]), list(tok[mi]), rate[0, bi]) for mi, m in enumerate(RUNS)}
        iso[b] = {"plain_rate": float(rate[0, bi]), "plain_tokens": float(tok[0, bi]), "needed": need}
    out["iso_rate"] = iso
    for mi, m in enumerate(RUNS):
        reached = [float(x) for x in (b[mi] for b in boot) if x is not None]
        out[m] = {
            "rate": hits[mi].mean(axis=1).tolist(),
            "tokens": used[mi].mean(axis=1).tolist(),
            "saving": point[mi],
            "saving_ci": [float(np.quantile(reached, 0.025)), float(np.quantile(reached, 0.975))] if reached else None,
            "reached_in_resamples": len(reached) / len(boot),
            "granularity_at_256": dict(grans[m]),
        }
        if mi:
            out[m]["paired_vs_plain_greedy_at_256"] = paired_bootstrap(hits[mi, 4], hits[0, 4])
    return out


def rewrite_part(work: Path, n: int, llm_n: int) -> dict[str, Any]:
    """(b): supporting-paragraph recall of each rewrite mode on the first ``n`` questions of each multi-hop set."""
    out: dict[str, Any] = {}
    for name, base in MULTI.items():
        folder = ensure_index([base / f"{name}_train_corpus.json"], name, work)
        eng = Engine.from_index(folder, generator="none", config=RAW)
        exs = load_hipporag(base / f"{name}_train.json")[:n]
        prf = PRFRewriter(eng.index)
        modes: dict[str, tuple[Any, int, float | None]] = {"none": (NoRewriter(), n, None), "prf": (prf, n, None)}
        if llm_n > 0:
            from ragengine.generate.llama_cpp import LlamaCppGenerator

            memo = MemoChat(LlamaCppGenerator(), work / "llm-rewrites.json")
            llm = LLMRewriter(memo)
            modes["llm"], modes["llm w=.5"] = (llm, llm_n, None), (llm, llm_n, 0.5)
        per: dict[str, dict[str, list[float]]] = {}
        for mode, (rw, m, w) in modes.items():
            rec: dict[str, list[float]] = defaultdict(list)
            for e in exs[:m]:
                t = time.perf_counter()
                r = rw.rewrite(e.question)
                lists = [eng.retrieve(q) for q in r.queries]
                fused = fuse_retrievals(lists, limit=eng.config.candidates, original_weight=w)
                rec["ms"].append((time.perf_counter() - t) * 1000)
                rec["tokens"].append(r.tokens)
                rec["fallback"].append(float(bool(r.fallback)))
                rec["queries"].append(len(r.queries))
                gold = set(e.gold_doc_ids)
                rec["recall@30"].append(len(gold & {c.chunk.doc_id for c in fused.candidates}) / len(gold))
                for b in (256, 512, 1024):
                    a = eng.ask(e.question, Budget(context_tokens=b), retrieved=fused)
                    got = {d for c in a.citations for d in (c.metadata.get("source_doc_ids") or [c.doc_id])}
                    rec[f"recall@{b}"].append(len(gold & got) / len(gold))
                    rec[f"all@{b}"].append(float(gold <= got))
            per[mode] = rec
        res: dict[str, Any] = {}
        for mode, rec in per.items():
            k = len(rec["tokens"])
            res[mode] = {"questions": k, **{key: float(np.mean(v)) for key, v in rec.items()}}
            res[mode]["none_on_same_questions"] = {b: float(np.mean(per["none"][f"recall@{b}"][:k])) for b in (512,)}
            if mode != "none":
                for b in (256, 512, 1024):
                    d = paired_bootstrap(rec[f"recall@{b}"], per["none"][f"recall@{b}"][:k])
                    res[mode][f"gain@{b}"] = d
                    extra = res[mode]["tokens"]
                    res[mode][f"gain_per_1k_tokens@{b}"] = d["diff"] * 1000 / extra if extra > 0 else None
        out[name] = {"chunks": len(eng.index.chunks), "modes": res}
        if llm_n > 0:
            out[name]["llm_replies"] = {"replayed_from_work": memo.replayed, "generated_now": memo.called}
    return out


def main(argv: list[str] | None = None) -> int:
    """``ragengine bench crag-rewrite-cache ...``: run the parts, write the report; 0 when it is written."""
    p = argparse.ArgumentParser(prog="ragengine bench crag-rewrite-cache", description=__doc__.splitlines()[0])
    p.add_argument("--work", default=None, help="where indexes and LLM replies are kept (/tmp/ragengine-crag-bench)")
    p.add_argument("--out", default=str(REPO / "eval" / "results"))
    p.add_argument("--squad-n", type=int, default=400, help="SQuAD questions for (a)")
    p.add_argument("--multihop-n", type=int, default=100, help="questions per multi-hop set for (b)")
    p.add_argument("--llm-n", type=int, default=100, help="of those, how many get the LLM rewriter (0 = none)")
    p.add_argument("--parts", default="crag,rewrite,cache")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="parts crag and cache on 4 bundled XQuAD questions, hash embedder, whitespace tokens, work folder "
        "beside --out (seconds; checks the bench runs, measures nothing)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    squad_file, opts = SQUAD, dict[str, Any]()
    if args.smoke:
        squad_file, opts = XQUAD, SMOKE_MODELS
        args.squad_n, args.parts = 4, "crag,cache"
    work = Path(args.work or (Path(args.out) / "crag-work" if args.smoke else "/tmp/ragengine-crag-bench"))
    parts, t0 = set(args.parts.split(",")), time.time()
    work.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {
        "command": "ragengine bench crag-rewrite-cache " + " ".join(sys.argv[1:] if argv is None else argv),
        "args": vars(args),
    }
    squad = ensure_clusters(ensure_index([squad_file], "squad", work, **opts)) if parts & {"crag", "cache"} else None
    if "crag" in parts and squad is not None:
        res["crag"] = crag_part(squad, args.squad_n, squad=squad_file)
    if "rewrite" in parts:
        res["rewrite"] = rewrite_part(work, args.multihop_n, args.llm_n)
    if "cache" in parts and squad is not None:
        res["cache"] = cache_part(squad, work, squad=squad_file)
    res["seconds"] = time.time() - t0
    print(write_report(res, Path(args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
