"""Issue 6 benchmark: CRAG token savings, rewriting recall per token, answer-cache hits and false hits.

Run: ``python -m ragengine.evaluation.crag_bench`` -> ``eval/results/crag-rewrite-cache.{md,json,png}``.

(a) SQuAD v1.1 dev, corpus = all 2,067 paragraphs (128-token chunks), questions from articles
    25-48: gold-answer-in-context against context tokens, plain hybrid candidates vs CRAG
    candidates, greedy and MCTS; the tokens CRAG needs to reach plain retrieval's rate at 512.
(b) HotpotQA / MuSiQue train-100: supporting-paragraph recall of the selected context for
    ``--rewrite none|prf|llm`` (SmolLM2-135M, grammar-constrained JSON), gain per extra LLM token.
(c) SQuAD answer cache: one question per paragraph is cached; exact repeats and rule-made
    paraphrases should hit; the paragraph's other questions must not (a false hit = a served answer
    sharing no gold answer with the question's). Threshold tuned on articles 1-24.
Indexes (with clusters) and LLM replies are kept under ``--work`` and reused by a re-run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ragengine import Budget, Engine
from ragengine.cache import SemanticCache
from ragengine.cache.paraphrase import FAMILIES, paraphrase
from ragengine.cache.semantic import normalise
from ragengine.cluster import ClusterAugmenter, build_clusters, has_clusters, load_clusters, save_clusters
from ragengine.evaluation.datasets import SQUAD_REPORT, SQUAD_TUNE, QAExample, load_hipporag, load_squad
from ragengine.evaluation.metrics import answer_in_context, normalize_answer
from ragengine.evaluation.stats import paired_bootstrap
from ragengine.generate.prompt import format_context
from ragengine.rewrite import LLMRewriter, NoRewriter, PRFRewriter, fuse_retrievals
from ragengine.rewrite.chat import MemoChat

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
SQUAD = DATA / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json"
MULTI = {"hotpotqa": DATA / "hotpotqa-train100-hipporag", "musique": DATA / "musique-train100-hipporag"}
BUDGETS = (64, 96, 128, 192, 256, 320, 384, 448, 512)
CRAG = {"top_clusters": 3, "excerpt_tokens": 64, "excerpt_blocks": 6}
RUNS = {  # name: (candidate list, strategy)
    "plain-greedy": ("plain", "greedy"),
    "plain-mcts": ("plain", "mcts"),
    "crag-greedy": ("crag", "greedy"),
    "crag-mcts": ("crag", "mcts"),
    "crag-no-excerpt-greedy": ("coarse", "greedy"),
}
CRAG_ABOUT = (
    "{n} questions sampled evenly from articles 25-48 (the report half); corpus = all 2,067 dev paragraphs in "
    "128-token chunks; hybrid top-30 candidates. CRAG (k-means clusters at index time, k = round(sqrt(n chunks))) "
    "adds, for the 3 clusters of the best candidates: excerpt blocks (the clusters' sentences best matching the "
    "question, in blocks of <= 64 tokens), each cluster's best member chunk and its index-time extractive summary "
    "(<= 96 tokens). `crag-no-excerpt` offers only members and summaries. Parameters: {p}. Cells: gold-answer-in-"
    "context rate (mean context tokens used). Tuned on articles 1-24 only (excerpt size, blocks, sentence scoring)."
)
REWRITE_ABOUT = (
    "Corpus = the set's paragraphs in 128-token chunks. The candidates of every rewrite are fused by RRF (top 30), "
    "then greedy selection; recall = share of supporting paragraphs in the selected context (`all` = every one). "
    "LLM = SmolLM2-135M-Instruct, one call per question, grammar-constrained JSON (llama.cpp); its prompt + "
    "completion tokens are the extra cost (PRF spends no LLM tokens); `q` = questions it ran on, paired with `none` "
    "on the same questions. A call took 3 s on an idle core and up to 4 min while the shared machine was loaded. "
    "`w=.5`: weighted RRF in which the original question keeps half of the vote (RM3's interpolation weight; "
    "with PRF's two lists it equals plain RRF). "
    "These rows were added after the plain-RRF rows showed the LLM rewrites outvoting the question; there is no "
    "held-out multi-hop split here, so read them as a design check on the same 100 questions, not a tuned result."
)
CACHE_ABOUT = (
    "Articles 25-48: the first question of every paragraph with 2+ questions is cached ({e} entries). Queries: exact "
    "repeats; rule-made paraphrases of the cached questions (`ragengine.cache.paraphrase`: frame = request wrapper, "
    "wh = wh-phrase swap, reorder = moved prepositional phrase, casual = lower case + 'please', synonym = one "
    "content word from a small synonym table); and every other question of the same paragraphs (these must miss). "
    "Paraphrases come from deterministic rules, not people (no paraphrase data is available here): the paraphrase "
    "hit rates hold for those rule kinds only and say nothing about freer rewording."
)
log = logging.getLogger("crag_bench")


def ensure_index(work: Path, name: str, src: Path, clusters: bool = True) -> Path:
    folder = work / name
    if not (folder / "manifest.json").is_file():
        Engine.build_index([src], name, root=work)
    if clusters and not has_clusters(folder):
        eng = Engine.from_index(folder, generator="none")
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


def crag_part(folder: Path, n: int, seed: int = 0) -> dict[str, Any]:
    eng = Engine.from_index(folder, generator="none")
    cs = load_clusters(folder, eng.index.chunks)
    aug = ClusterAugmenter(eng.index, cs, eng.counter, **CRAG)  # type: ignore[arg-type]
    coarse = ClusterAugmenter(eng.index, cs, eng.counter, granularities=("member", "summary"))
    exs = load_squad(SQUAD, SQUAD_REPORT)
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
    out: dict[str, Any] = {}
    for name, base in MULTI.items():
        folder = ensure_index(work, name, base / f"{name}_train_corpus.json", clusters=False)
        eng = Engine.from_index(folder, generator="none")
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


def agree(a: list[str], b: list[str]) -> bool:
    """Two gold-answer lists agree when one normalised answer contains another (as whole words)."""
    na, nb = [f" {normalize_answer(x)} " for x in a], [f" {normalize_answer(x)} " for x in b]
    return any(x.strip() and y.strip() and (x in y or y in x) for x in na for y in nb)


def cache_data(eng: Engine, exs: list[QAExample]) -> tuple[Any, ...]:
    """Cached questions (first per paragraph with 2+ questions), queries (kind, text, example), embeddings."""
    by: dict[str, list[QAExample]] = defaultdict(list)
    for e in exs:
        by[e.gold_doc_ids[0]].append(e)
    seen, queries = [], []
    for qs in (qs for qs in by.values() if len(qs) >= 2):
        seen.append(qs[0])
        queries.append(("repeat", qs[0].question, qs[0]))
        made = [(f"para:{f}", paraphrase(qs[0].question, f)) for f in FAMILIES]
        queries.extend((kind, p, qs[0]) for kind, p in made if p is not None)
        queries.extend(("other", o.question, o) for o in qs[1:] if normalise(o.question) != normalise(qs[0].question))
    embed = eng.embedder.embed
    return seen, queries, embed([e.question for e in seen]), embed([q for _, q, _ in queries])


def cache_eval(eng: Engine, data: tuple[Any, ...], threshold: float, guard: bool, tmp: Path) -> dict[str, Any]:
    seen, queries, vs, qv = data
    cache = SemanticCache(tmp, eng.manifest.version, eng.embedder, threshold=threshold, check_signature=guard)
    cache.clear()
    gold = {normalise(e.question): e for e in seen}
    for e, v in zip(seen, vs, strict=True):
        cache.store(e.question, e.answers[0], [], e.gold_doc_ids, 0, v, persist=False)
    stats: dict[str, list[float]] = defaultdict(list)
    examples: list[dict[str, Any]] = []
    t = time.perf_counter()
    for (kind, q, e), v in zip(queries, qv, strict=True):
        hit = cache.lookup(q, v)
        stats[kind].append(float(hit is not None))
        if kind == "other" and hit is not None:
            wrong = float(not agree(gold[normalise(hit.entry.question)].answers, e.answers))
            same_text = normalise(hit.entry.question) == normalise(q)  # the same question asked on 2 paragraphs
            stats["identical" if same_text else "false"].append(wrong)
            if wrong and not same_text and len(examples) < 5:
                examples.append({"query": q, "cached": hit.entry.question, "similarity": round(hit.similarity, 3)})
    out: dict[str, Any] = {"threshold": threshold, "guard": guard, "entries": len(cache)}
    out["lookup_ms"] = (time.perf_counter() - t) * 1000 / max(1, len(queries))
    for k, v in stats.items():
        if k not in ("false", "identical"):
            out[k] = {"n": len(v), "hit_rate": float(np.mean(v))}
    para = [x for k, v in stats.items() if k.startswith("para:") and k != "para:synonym" for x in v]
    out["paraphrase_excl_synonym"] = {"n": len(para), "hit_rate": float(np.mean(para)) if para else 0.0}
    n_other = len(stats["other"])
    out["false_hits"] = {"n": int(sum(stats["false"])), "of": n_other, "rate": sum(stats["false"]) / max(1, n_other)}
    out["other_hits_same_answer"] = int(len(stats["false"]) - sum(stats["false"]))
    out["identical_text"] = {"hits": len(stats["identical"]), "different_answers": int(sum(stats["identical"]))}
    out["false_examples"] = examples
    return out


def cache_part(folder: Path, work: Path) -> dict[str, Any]:
    eng = Engine.from_index(folder, generator="none")
    tune, rep = (cache_data(eng, load_squad(SQUAD, arts)) for arts in (SQUAD_TUNE, SQUAD_REPORT))
    grid = [0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    sweep = [cache_eval(eng, tune, t, g, work / "cache-tune") for g in (True, False) for t in grid]
    safe = [r for r in sweep if r["guard"] and r["false_hits"]["n"] == 0]
    pick = max(safe, key=lambda r: (r["paraphrase_excl_synonym"]["hit_rate"], r["threshold"])) if safe else None
    best = pick["threshold"] if pick else 0.95
    res = {"threshold": best, "tune_sweep": sweep}
    res["report"] = cache_eval(eng, rep, best, True, work / "cache-report")
    res["report_cosine_only"] = cache_eval(eng, rep, best, False, work / "cache-report-noguard")
    q = rep[0][0].question  # the same cache folder, opened for a rebuilt index, serves nothing
    SemanticCache(work / "cache-report", eng.manifest.version, eng.embedder).store(q, "x", [], [], 0)
    newer = SemanticCache(work / "cache-report", eng.manifest.version + "-rebuilt", eng.embedder)
    res["invalidation"] = {"served_after_version_change": newer.lookup(q) is not None, "dropped": newer.invalidated}
    return res


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _saving(need: float | None, ref: float) -> str:
    return "not reached" if need is None else f"{need:.0f} ({_pct(1 - need / ref)})"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows] + [""]


def render(res: dict[str, Any]) -> str:
    md = ["# Clustered retrieval, query rewriting and the answer cache (issue 6)", ""]
    md += [f"Command: `{res['command'].strip()}` ({res['seconds'] / 60:.0f} min on 2 shared CPU cores).", ""]
    if a := res.get("crag"):
        md += ["## (a) CRAG on SQuAD v1.1 dev", "", CRAG_ABOUT.format(n=a["questions"], p=a["params"]), ""]
        cells = [
            [b] + [f"{a[m]['rate'][i]:.3f} ({a[m]['tokens'][i]:.0f})" for m in RUNS] for i, b in enumerate(BUDGETS)
        ]
        md += _table(["budget", *RUNS], cells)
        rows = [
            [b, f"{v['plain_rate']:.3f}", f"{v['plain_tokens']:.0f}"]
            + [_saving(v["needed"][m], v["plain_tokens"]) for m in ("crag-greedy", "crag-mcts")]
            for b, v in a["iso_rate"].items()
        ]
        md += ["Tokens CRAG needs to match plain-greedy's rate at each budget (saving vs plain's tokens there):", ""]
        md += _table(["plain budget", "plain rate", "plain tokens", "crag-greedy", "crag-mcts"], rows)
        md += [f"Target = plain-greedy at 512: **{a['target_rate']:.3f}** at {a['reference_tokens']:.0f} tokens.", ""]
        rows = []
        for m in RUNS:
            ci = a[m]["saving_ci"]
            ci_txt = "-" if ci is None else f"[{_pct(ci[0])}, {_pct(ci[1])}]"
            saving = "not reached" if a[m]["saving"] is None else _pct(a[m]["saving"])
            rows.append([m, saving, ci_txt, _pct(a[m]["reached_in_resamples"])])
        md += _table(
            [
                "method",
                "token saving at the target rate",
                "95% CI (bootstrap, resamples reaching it)",
                "resamples reaching",
            ],
            rows,
        )
        best = max((a[m]["saving"] for m in RUNS if m.startswith("crag") and a[m]["saving"] is not None), default=None)
        md += [
            f"**Verdict:** best CRAG saving {_pct(best)}; CRAG's >= 46% anchor is "
            f"{'met' if best is not None and best >= 0.46 else 'not met'}.",
            "",
        ]
        cg, pg, ne = a["crag-greedy"]["rate"], a["plain-greedy"]["rate"], a["crag-no-excerpt-greedy"]["rate"]
        worse = sum(x < y for x, y in zip(ne[2:], pg[2:], strict=True))
        md += [
            f"Where it comes from: the excerpt granularity. At {BUDGETS[0]} and {BUDGETS[1]} tokens, where whole "
            f"128-token chunks rarely fit, CRAG holds the gold answer {cg[0] / pg[0]:.1f}x and {cg[1] / pg[1]:.1f}x "
            f"as often as plain retrieval; offering only cluster summaries and best members (`crag-no-excerpt`) is "
            f"worse than plain at {worse} of {len(BUDGETS) - 2} budgets from {BUDGETS[2]} up (a <= 96-token summary "
            f"of ~60 chunks rarely holds a factoid). Near 512 both curves meet the retrieval ceiling, so the saving "
            f"at plain's 512 rate is small and uncertain. Query-time cost: {a['augment_ms_p50']:.0f} ms p50 per "
            "question on the shared 2-core machine (no LLM, no extra embedding).",
            "",
        ]
    if b := res.get("rewrite"):
        md += ["## (b) Query rewriting on HotpotQA and MuSiQue", "", REWRITE_ABOUT, ""]
        rows = []
        for ds, d in b.items():
            for mode, r in d["modes"].items():
                g = r.get("gain@512")
                per = r.get("gain_per_1k_tokens@512")
                rows.append(
                    [ds, mode, r["questions"], f"{r['tokens']:.0f}", _pct(r["fallback"]), f"{r['recall@30']:.3f}"]
                    + [f"{r[f'recall@{x}']:.3f}" for x in (256, 512, 1024)]
                    + [f"{r['all@1024']:.3f}"]
                    + ["-" if g is None else f"{g['diff']:+.3f} [{g['lo']:+.3f}, {g['hi']:+.3f}]"]
                    + ["-" if mode == "none" else "free (0 LLM tokens)" if per is None else f"{per:+.3f}"]
                )
        md += _table(
            [
                "data",
                "rewrite",
                "q",
                "LLM tok/q",
                "fallback",
                "recall@30 cand.",
                "recall@256",
                "recall@512",
                "recall@1024",
                "all@1024",
                "gain@512 vs none [95% CI]",
                "gain per 1k LLM tokens",
            ],
            rows,
        )
        gains = [
            f"{ds}/{mode} {r['gain@512']['diff']:+.3f}"
            + ("" if r["tokens"] <= 0 else f" ({r['gain_per_1k_tokens@512']:+.3f} per 1k LLM tokens)")
            for ds, d in b.items()
            for mode, r in d["modes"].items()
            if "gain@512" in r
        ]
        memo = [f"{ds}: {d['llm_replies']['replayed_from_work']} replayed" for ds, d in b.items() if "llm_replies" in d]
        if memo:
            md += [
                f"LLM replies replayed from `--work`/llm-rewrites.json, recorded by an earlier run of this rewriter "
                f"(a cold run makes the calls): {', '.join(memo)} (each reply is used by `llm` and `llm w=.5`).",
                "",
            ]
        md += [f"**Verdict:** supporting-paragraph recall gain at 512 context tokens: {'; '.join(gains)}.", ""]
    if c := res.get("cache"):
        r, n = c["report"], c["report_cosine_only"]
        md += ["## (c) Answer cache on SQuAD", "", CACHE_ABOUT.format(e=r["entries"]), ""]
        kinds = [k for k in r if isinstance(r[k], dict) and "hit_rate" in r[k]]
        md += _table(
            ["query kind", "n", "hit rate (guarded)", "hit rate (cosine only)"],
            [[k, r[k]["n"], _pct(r[k]["hit_rate"]), _pct(n[k]["hit_rate"])] for k in kinds],
        )
        md += [
            f"False hits on different questions of the same paragraphs: **{r['false_hits']['n']} of "
            f"{r['false_hits']['of']}** with the guard, {n['false_hits']['n']} with cosine only at the same "
            f"threshold ({c['threshold']}, tuned on articles 1-24). Hits on other questions whose gold answers agree: "
            f"{r['other_hits_same_answer']}. Hits on a question of identical text asked on another paragraph (any "
            f"cache serves these): {r['identical_text']['hits']}, {r['identical_text']['different_answers']} with "
            f"differing SQuAD gold answers. Lookup: {r['lookup_ms']:.2f} ms over {r['entries']} entries. After an "
            f"index version change the cache served {int(c['invalidation']['served_after_version_change'])} "
            f"answers and dropped {c['invalidation']['dropped']} entries.",
            "",
        ]
        ok = r["false_hits"]["n"] == 0 and r["repeat"]["hit_rate"] >= 0.9
        md += [
            f"**Verdict:** zero false hits at >= 90% exact-repeat hits: {'met' if ok else 'not met'} "
            f"({r['false_hits']['n']} false hits, {_pct(r['repeat']['hit_rate'])} repeats).",
            "",
        ]
    return "\n".join(md)


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(16, 4.5))
    if a := res.get("crag"):
        for m in RUNS:
            ax[0].plot(a[m]["tokens"], a[m]["rate"], marker="o", ms=3, label=m)
        ax[0].axhline(a["target_rate"], ls=":", c="grey", label="plain-greedy @512")
        ax[0].set(xlabel="mean context tokens", ylabel="gold answer in context", title="(a) SQuAD: CRAG vs plain")
        ax[0].legend(fontsize=7)
    if b := res.get("rewrite"):
        for ds, d in b.items():
            for mode, r in d["modes"].items():
                ax[1].plot(
                    [256, 512, 1024], [r[f"recall@{x}"] for x in (256, 512, 1024)], marker="o", label=f"{ds}/{mode}"
                )
        ax[1].set(xlabel="context budget", ylabel="supporting-paragraph recall", title="(b) rewriting")
        ax[1].set_xticks([256, 512, 1024])
        ax[1].legend(fontsize=7)
    if c := res.get("cache"):
        r, n = c["report"], c["report_cosine_only"]
        kinds = [k for k in r if isinstance(r[k], dict) and "hit_rate" in r[k] and k != "paraphrase_excl_synonym"]
        x = np.arange(len(kinds))
        ax[2].bar(x - 0.2, [r[k]["hit_rate"] for k in kinds], 0.4, label="guarded")
        ax[2].bar(x + 0.2, [n[k]["hit_rate"] for k in kinds], 0.4, label="cosine only")
        ax[2].set_xticks(x, [k.replace("para:", "") for k in kinds], rotation=30, fontsize=8)
        ax[2].set(ylabel="hit rate", title="(c) cache hits by query kind ('other' must miss)")
        fh = f"false hits on 'other': {r['false_hits']['n']} guarded, {n['false_hits']['n']} cosine only"
        ax[2].text(0.02, 0.5, fh, transform=ax[2].transAxes, fontsize=8)
        ax[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_report(res: dict[str, Any], out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "crag-rewrite-cache.json").write_text(json.dumps(res, indent=1, default=float), encoding="utf-8")
    text = render(res)
    (out / "crag-rewrite-cache.md").write_text(text, encoding="utf-8")
    plot(res, out / "crag-rewrite-cache.png")
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ragengine.evaluation.crag_bench", description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/ragengine-crag-bench", help="where indexes and LLM replies are kept")
    p.add_argument("--out", default=str(REPO / "eval" / "results"))
    p.add_argument("--squad-n", type=int, default=400, help="SQuAD questions for (a)")
    p.add_argument("--multihop-n", type=int, default=100, help="questions per multi-hop set for (b)")
    p.add_argument("--llm-n", type=int, default=100, help="of those, how many get the LLM rewriter (0 = none)")
    p.add_argument("--parts", default="crag,rewrite,cache")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    work, parts, t0 = Path(args.work), set(args.parts.split(",")), time.time()
    work.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {
        "command": "python -m ragengine.evaluation.crag_bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "args": vars(args),
    }
    squad = ensure_index(work, "squad", SQUAD) if parts & {"crag", "cache"} else None
    if "crag" in parts and squad is not None:
        res["crag"] = crag_part(squad, args.squad_n)
    if "rewrite" in parts:
        res["rewrite"] = rewrite_part(work, args.multihop_n, args.llm_n)
    if "cache" in parts and squad is not None:
        res["cache"] = cache_part(squad, work)
    res["seconds"] = time.time() - t0
    print(write_report(res, Path(args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
