"""The answer-cache part of the crag-rewrite-cache benchmark: hits on repeats and paraphrases, false hits.

One question per SQuAD paragraph (with 2+ questions) is cached; exact repeats and rule-made
paraphrases should hit; the paragraph's other questions must not (a false hit = a served answer
sharing no gold answer with the question's). The threshold is tuned on articles 1-24 and
measured on 25-48, with and without the signature guard. Cost: one embedding per question and a
cosine lookup per query (milliseconds).
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ragengine import Engine, EngineConfig
from ragengine.cache import SemanticCache
from ragengine.cache.paraphrase import FAMILIES, paraphrase
from ragengine.cache.semantic import normalise
from ragengine.evaluation.datasets import SQUAD_REPORT, SQUAD_TUNE, QAExample, load_squad
from ragengine.evaluation.metrics import normalize_answer

RAW = EngineConfig(clusters="off")  # "plain" means raw candidates: the bench applies its augmenters itself


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


def cache_part(folder: Path, work: Path, squad: Path) -> dict[str, Any]:
    """(c): tune the threshold on articles 1-24 (no false hit), then measure hits and false hits on 25-48."""
    eng = Engine.from_index(folder, generator="none", config=RAW)
    tune, rep = (cache_data(eng, load_squad(squad, arts)) for arts in (SQUAD_TUNE, SQUAD_REPORT))
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
