"""Scale-out benchmark, store side: the engine over the PostgreSQL store against the same index on disk.

Each corpus is indexed once on disk (``ensure_index``), pushed into a throwaway local PostgreSQL
server (``Engine.push_index``, timed), and opened three ways: the local folder (FAISS flat +
bm25s), the PostgreSQL store with BM25 summed in SQL (HNSW ``ef_search`` 100), and the store with
PostgreSQL's own full-text ranking (``lexical="tsvector"``: ``ts_rank_cd``, not BM25).

- SQuAD v1.1 dev, report half (articles 25-48), corpus = all 2,067 paragraphs: gold answer in
  the selected context at 128 and 256 tokens (default strategy), the share of questions whose
  selected context is identical to the local store's, and ask latency (no generation).
- SciFact test (300 queries, 5,183 abstracts): nDCG@10 of the document ranking the engine
  retrieves, lexical only (``retrieval="bm25"``, no re-ranker) and hybrid (the default pipeline).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.engine import Engine
from ragengine.evaluation.datasets import load_beir_queries
from ragengine.evaluation.experiments.selection_sets import BUNDLED, DATA, SMOKE, SPECS, corpus_documents, load_examples
from ragengine.evaluation.indexes import SMOKE_MODELS, ensure_index
from ragengine.evaluation.metrics import answer_in_context, ndcg_at_k
from ragengine.evaluation.report.tables import table
from ragengine.ingest.corpora import iter_beir_corpus
from ragengine.types import Document

BUDGETS = (128, 256)
STORES = ("local", "pg-bm25", "pg-tsvector")


def _engines(folder: Path, url: str, name: str, embedder: str | None) -> dict[str, Engine]:
    kw: dict[str, Any] = {"generator": "none"}
    if embedder:
        kw["embedder"] = embedder
    return {
        "local": Engine.from_index(folder, **kw),
        "pg-bm25": Engine.from_index(name, store=url, store_options={"ef_search": 100}, **kw),
        "pg-tsvector": Engine.from_index(name, store=url, store_options={"lexical": "tsvector"}, **kw),
    }


def _push(folder: Path, url: str, name: str) -> float:
    t = time.perf_counter()
    Engine.push_index(folder, url, name=name)
    return round(time.perf_counter() - t, 1)


def squad(url: str, indexes: Path, n: int, smoke: bool) -> dict[str, Any]:
    spec, data = (SMOKE, BUNDLED) if smoke else (SPECS["squad-dev"], DATA)
    opts = SMOKE_MODELS if smoke else {}
    folder = ensure_index(corpus_documents(spec, data), spec.index, indexes, progress=False, **opts)
    push_s = _push(folder, url, spec.index)
    engines = _engines(folder, url, spec.index, opts.get("embedder"))
    examples = load_examples(spec, data, n)
    out: dict[str, Any] = {"questions": len(examples), "push_s": push_s, "chunks": engines["local"].manifest.n_chunks}
    contexts: dict[tuple[str, int], list[list[str]]] = {}
    for key, eng in engines.items():
        ms: list[float] = []
        for b in BUDGETS:
            hits, ctx = [], []
            for ex in examples:
                t = time.perf_counter()
                ans = eng.ask(ex.question, b)
                ms.append((time.perf_counter() - t) * 1000)
                texts = [c.text for c in ans.citations]
                ctx.append([c.chunk_id + "|" + c.text for c in ans.citations])
                hits.append(answer_in_context("\n".join(texts), ex.answers))
            contexts[(key, b)] = ctx
            out.setdefault(key, {})[f"gold@{b}"] = round(float(np.mean(hits)), 3)
        out[key]["ask_ms"] = {
            "p50": round(float(np.percentile(ms, 50)), 1),
            "p95": round(float(np.percentile(ms, 95)), 1),
        }
    for key in STORES[1:]:
        for b in BUDGETS:
            same = np.mean([a == c for a, c in zip(contexts[(key, b)], contexts[("local", b)], strict=True)])
            out[key][f"same@{b}"] = round(float(same), 3)
    return out


def scifact(url: str, indexes: Path, smoke: bool) -> dict[str, Any] | None:
    folder_data = DATA / "beir-scifact"
    if smoke or not (folder_data / "corpus.jsonl").is_file():
        return None
    docs = [Document(d, f"{t}\n{x}".strip(), {"title": t}) for d, t, x in iter_beir_corpus(folder_data)]
    folder = ensure_index(docs, "bench-scifact", indexes, progress=False)
    push_s = _push(folder, url, "bench-scifact")
    engines = _engines(folder, url, "bench-scifact", None)
    queries = load_beir_queries(folder_data, "test")
    out: dict[str, Any] = {"queries": len(queries), "push_s": push_s, "chunks": engines["local"].manifest.n_chunks}
    for key, eng in engines.items():
        for mode, e in (("lexical", eng.with_config(retrieval="bm25", reranker="none")), ("hybrid", eng)):
            scores = []
            for q in queries:
                ranked: list[str] = []
                for c in e.retrieve(q.question).candidates:
                    if c.chunk.doc_id not in ranked:
                        ranked.append(c.chunk.doc_id)
                scores.append(ndcg_at_k(ranked, q.meta["qrels"], 10))
            out.setdefault(key, {})[f"ndcg@10 {mode}"] = round(float(np.mean(scores)), 4)
    return out


def run_store(url: str, indexes: Path, questions: int, smoke: bool) -> dict[str, Any]:
    return {"squad": squad(url, indexes, 20 if smoke else questions, smoke), "scifact": scifact(url, indexes, smoke)}


def render_store(r: dict[str, Any], run: dict[str, str] | None = None) -> list[str]:
    sq = r["squad"]
    out = [
        "## The engine over the PostgreSQL store (same index, same questions)",
        "",
        *([f"`{run['command']}`, {run['created']}.", ""] if run else []),
        f"SQuAD v1.1 dev report half, {sq['questions']} questions, {sq['chunks']:,} chunks (pushed in "
        f"{sq['push_s']} s); default strategy, no generation. *same*: selected context identical to the "
        "local store's.",
        "",
    ]
    rows = []
    for key in STORES:
        x = sq[key]
        same = [x.get(f"same@{b}", "-") for b in BUDGETS]
        rows.append([key, *[x[f"gold@{b}"] for b in BUDGETS], *same, x["ask_ms"]["p50"], x["ask_ms"]["p95"]])
    heads = ["store", *[f"gold in context @{b}" for b in BUDGETS], *[f"same @{b}" for b in BUDGETS]]
    out += table([*heads, "ask p50 ms", "ask p95 ms"], rows)
    sf = r.get("scifact")
    if sf:
        out += [
            "",
            f"SciFact test, {sf['queries']} queries, {sf['chunks']:,} chunks (pushed in {sf['push_s']} s): "
            "nDCG@10 of the retrieved documents.",
            "",
        ]
        out += table(
            ["store", "lexical only", "hybrid (default pipeline)"],
            [[k, sf[k]["ndcg@10 lexical"], sf[k]["ndcg@10 hybrid"]] for k in STORES],
        )
    return out
