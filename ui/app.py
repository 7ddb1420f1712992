"""ragengine console: ask under a budget, see why each chunk was kept or dropped, build indexes, read evals.

Run with `ragengine ui [--index NAME]` (serves on 127.0.0.1). Everything shown comes from the public
API (`ragengine.Engine`, `Answer.trace`, `Answer.cost`); this file holds no retrieval logic.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from ragengine import Budget, Engine, EngineConfig
from ragengine.errors import RagEngineError
from ragengine.types import cited_documents

MAX_UPLOAD_MB = 20
STRATEGIES = ["greedy", "dos", "mmr", "knapsack", "mcts"]
GENERATORS = ["extractive", "llm", "none"]
ROOT = os.environ.get("RAGENGINE_INDEXES", "indexes")
RESULTS = Path(os.environ.get("RAGENGINE_RESULTS", Path(__file__).resolve().parents[1] / "eval" / "results"))


@st.cache_resource(show_spinner="Loading index and models...")
def get_engine(
    name: str,
    root: str,
    generator: str,
    retrieval: str,
    clusters: str = "auto",
    rewrite: str = "none",
    cache: bool = False,
) -> Engine:
    """One engine per setting: the index and models load once per server, and stage variants share them."""
    if (clusters, rewrite, cache) == ("auto", "none", False):
        return Engine.from_index(name, root=root, generator=generator, config=EngineConfig(retrieval=retrieval))
    return get_engine(name, root, generator, retrieval).with_config(clusters=clusters, rewrite=rewrite, cache=cache)


def fail(e: Exception) -> None:
    st.error(f"{type(e).__name__}: {e}")


def pick_index(key: str) -> str | None:
    names = Engine.list_indexes(ROOT)
    wanted = st.session_state.get("index_arg")
    if wanted and wanted not in names:
        st.error(f"No index named {wanted!r} in {ROOT}/. Build one on the Index page or with `ragengine index`.")
    if not names:
        st.info(f"No index in {ROOT}/ yet: build one on the Index page.")
        return None
    default = names.index(wanted) if wanted in names else 0
    return str(st.selectbox("Index", names, index=default, key=key))


def ledger_view(cost: dict[str, Any]) -> None:
    rows = [
        {"stage": k, **{f: v[f] for f in ("tokens_in", "tokens_out", "llm_calls", "ms", "usd")}}
        for k, v in cost["stages"].items()
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    metric = st.radio("Chart", ["ms", "tokens_in", "tokens_out", "usd"], horizontal=True, key="ledger_metric")
    st.bar_chart({r["stage"]: r[metric] for r in rows}, horizontal=True)
    st.caption(
        f"context {cost['context_tokens']} tokens · LLM total {cost['total_tokens']} tokens · "
        f"{cost['llm_calls']} LLM calls · {cost['ms']:.0f} ms · ${cost['usd']:.5f}"
    )


def page_ask() -> None:
    st.header("Ask")
    name = pick_index("ask_index")
    if name is None:
        return
    c1, c2, c3 = st.columns(3)
    strategy = c1.selectbox("Strategy", STRATEGIES, key="strategy")
    generator = c2.selectbox("Generator", GENERATORS, key="generator")
    retrieval = c3.selectbox("Retrieval", ["hybrid", "bm25", "dense"], key="retrieval")
    d1, d2, d3 = st.columns(3)
    clusters = d1.selectbox("Clusters (CRAG)", ["auto", "on", "off"], key="clusters", help="auto: if the index has any")
    rewrite = d2.selectbox("Query rewrite", ["none", "prf", "llm"], key="rewrite", help="llm needs the llm generator")
    cache = d3.toggle("Answer cache", value=False, key="cache", help="serve repeated questions without LLM tokens")
    budget = st.slider("Context budget (tokens)", 16, 2048, 256, step=16, key="budget")
    question = st.text_input("Question", key="question")
    if st.button("Ask", type="primary", key="ask_button"):
        if not question.strip():
            st.warning("Type a question first.")
            return
        try:
            engine = get_engine(name, ROOT, generator, retrieval, clusters, rewrite, cache)
            answer = engine.ask(question, Budget(context_tokens=budget), strategy=strategy)
        except RagEngineError as e:
            fail(e)
            return
        st.session_state["last"] = {
            "index": name,
            "question": question,
            "strategy": strategy,
            "retrieval": retrieval,
            "stages": {"clusters": clusters, "rewrite": rewrite},
            "budget": budget,
            "answer": answer.to_dict(),
        }
        st.session_state["retrieved"] = None  # the Why page's what-if fetches the candidates once
    last = st.session_state.get("last")
    if not last or last["index"] != name:
        return
    ans = last["answer"]
    st.subheader("Answer")
    st.markdown(f"> {ans['answer'] or '*(dry run: context selected, nothing generated)*'}")
    note = ans["trace"].get("selection", {}).get("reason")
    if note:
        st.info(note)
    path_note(ans["trace"])
    st.subheader(f"Citations ({len(ans['citations'])})")
    for i, c in enumerate(ans["citations"], 1):
        meta = c.get("metadata", {})
        gran = meta.get("granularity", "chunk")
        docs = ", ".join(cited_documents(c["doc_id"], meta))
        with st.expander(f"[{i}] {docs} · {c['n_tokens']} tokens · {gran}"):
            st.caption(c["chunk_id"])
            st.write(c["text"])
    st.subheader("Ledger")
    ledger_view(ans["cost"])


def tree_figure(tree: list[dict[str, Any]]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    g = nx.DiGraph()
    for n in tree:
        g.add_node(n["id"], **n)
        if n.get("parent") is not None:
            g.add_edge(n["parent"], n["id"])
    depth = nx.single_source_shortest_path_length(g, min(g.nodes)) if len(g) else {}
    layers: dict[int, list[int]] = {}
    for node, d in depth.items():
        layers.setdefault(d, []).append(node)
    pos = {node: (i - len(ns) / 2, -d) for d, ns in layers.items() for i, node in enumerate(sorted(ns))}
    fig, ax = plt.subplots(figsize=(10, 5))
    colors = [g.nodes[n].get("mean_reward", 0.0) for n in g.nodes if n in pos]
    sizes = [30 + 8 * g.nodes[n].get("visits", 0) ** 0.5 for n in g.nodes if n in pos]
    nodes = [n for n in g.nodes if n in pos]
    nx.draw_networkx_edges(g.subgraph(nodes), pos, ax=ax, alpha=0.3, arrows=False)
    art = nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_color=colors, node_size=sizes, cmap="viridis", ax=ax)
    best = [n for n in nodes if g.nodes[n].get("best")]
    nx.draw_networkx_nodes(g, pos, nodelist=best, node_color="none", edgecolors="red", node_size=120, ax=ax)
    fig.colorbar(art, ax=ax, label="mean reward")
    ax.set_title("MCTS search tree (size ~ visits, red = chosen path)")
    ax.axis("off")
    return fig


def path_note(trace: dict[str, Any]) -> None:
    """Which path the answer took: the cache, a rewrite, cluster granularities."""
    path = trace.get("path")
    cache = trace.get("cache", {})
    if path == "cache":
        st.success(
            f"Served from the answer cache (cached question: {cache.get('cached_question')!r}, "
            f"similarity {cache.get('similarity')}): no retrieval, no LLM tokens."
        )
    elif path == "cache_chunks":
        st.info(f"Cached chunks re-selected under this budget: {cache.get('reason')}")
    rw = trace.get("retrieval", {}).get("rewrite")
    if rw:
        extra = " (the LLM reply was unusable: original question only)" if rw.get("fallback") else ""
        st.caption(f"Searched with {len(rw['queries'])} queries ({rw['method']}){extra}: " + " · ".join(rw["queries"]))
    cl = trace.get("retrieval", {}).get("clusters")
    if cl:
        added = ", ".join(f"{n} {g}" for g, n in cl.get("added", {}).items() if n)
        merged = cl.get("merged", 0)
        st.caption(f"Clusters {cl.get('chosen')} offered {added or 'nothing new'}; {merged} near-duplicates merged.")


def page_why() -> None:
    st.header("Why")
    last = st.session_state.get("last")
    retrieved = st.session_state.get("retrieved")
    if not last:
        st.info("Ask a question on the Ask page first; this page explains that answer.")
        return
    ans = last["answer"]
    st.write(f"**{last['question']}** · strategy `{last['strategy']}` · budget {last['budget']} tokens")
    rows = [
        {
            "rank": c["rank"],
            "fate": c["fate"],
            "cost": c["cost"],
            "score": round(c["score"], 4),
            **{k: round(v, 4) for k, v in c["scores"].items()},
            "doc_id": c["doc_id"],
            "chunk_id": c["chunk_id"],
        }
        for c in ans["trace"].get("candidates", [])
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    stats = ans["trace"].get("selection", {}).get("stats", {})
    if stats.get("tree"):
        st.subheader("MCTS search tree")
        st.caption(
            f"{stats.get('iterations')} iterations · {stats.get('states_scored')} states scored · "
            f"best reward {stats.get('best_reward', 0):.3f} · {stats.get('time_ms', 0):.1f} ms"
        )
        st.pyplot(tree_figure(stats["tree"]))
    st.subheader("What if the budget were different?")
    stages = last.get("stages", {"clusters": "auto", "rewrite": "none"})
    engine = get_engine(last["index"], ROOT, "none", last["retrieval"], stages["clusters"], stages["rewrite"])
    if retrieved is None and stages["rewrite"] != "llm":
        try:
            retrieved = engine.retrieve(last["question"])
        except RagEngineError as e:
            fail(e)
            return
        st.session_state["retrieved"] = retrieved
    if retrieved is None:
        st.info("The what-if needs the candidates again; with the llm rewrite that is another LLM call, so it is off.")
        return
    st.caption("Re-runs only the selection over the cached candidates: no retrieval, no model call.")
    what_if = st.slider("Budget", 16, 2048, int(last["budget"]), step=16, key="what_if")
    try:
        alt = engine.ask(
            last["question"], Budget(context_tokens=what_if), strategy=last["strategy"], retrieved=retrieved
        )
    except RagEngineError as e:
        fail(e)
        return
    before = {c["chunk_id"] for c in ans["citations"]}
    after = {c.chunk_id for c in alt.citations}
    c1, c2, c3 = st.columns(3)
    c1.metric("context tokens", alt.cost.context_tokens, alt.cost.context_tokens - ans["cost"]["context_tokens"])
    c2.metric("chunks", len(after), len(after) - len(before))
    c3.metric("added / removed", f"+{len(after - before)} / -{len(before - after)}")
    st.dataframe(
        [
            {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "tokens": c.n_tokens, "new": c.chunk_id not in before}
            for c in alt.citations
        ],
        hide_index=True,
    )


def page_index() -> None:
    st.header("Index")
    st.subheader("Build an index from files")
    files = st.file_uploader("Files (.txt, .md, .html, .jsonl, .json, .pdf)", accept_multiple_files=True, key="uploads")
    new_name = st.text_input("Index name", value="uploaded", key="new_name")
    chunk = st.slider("Chunk size (tokens)", 32, 512, 128, step=16, key="chunk")
    with_clusters = st.checkbox("Also build CRAG clusters (extractive summaries)", value=True, key="with_clusters")
    if st.button("Build", key="build"):
        build_from_uploads(files or [], new_name, chunk, with_clusters)
    st.subheader("Corpus statistics")
    name = pick_index("stats_index")
    if name is None:
        return
    try:
        engine = get_engine(name, ROOT, "none", "hybrid")
        stats = engine.corpus_stats()
        info = engine.info()
    except RagEngineError as e:
        fail(e)
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("documents", stats["documents"])
    c2.metric("chunks", stats["chunks"])
    c3.metric("mean chunk tokens", f"{stats['mean_chunk_tokens']:.0f}")
    st.bar_chart(_histogram(stats["chunk_tokens"]), x_label="chunk tokens", y_label="chunks")
    st.json({k: info[k] for k in ("embedder", "tokenizer", "chunking", "dense_kind", "created", "version")})
    clusters_view(engine, name)


def clusters_view(engine: Engine, name: str) -> None:
    st.subheader("Clusters")
    try:
        view = engine.cluster_overview()
    except RagEngineError as e:
        fail(e)
        return
    rows = view["clusters"]
    if not rows:
        st.info(f"Index {name!r} has no clusters: CRAG retrieval is off for it.")
        if st.button("Build clusters", key="build_clusters"):
            with st.spinner("Clustering chunks and summarising each cluster..."):
                try:
                    engine.add_clusters()
                except RagEngineError as e:
                    fail(e)
                    return
            get_engine.clear()
            st.rerun()
        return
    p, cost = view["params"], view["indexing"]
    st.caption(
        f"{p.get('k')} clusters of {p.get('n_chunks')} chunks ({p.get('k_rule')}), seed {p.get('seed')}, "
        f"{p.get('summary')} summaries of at most {p.get('summary_cap_tokens')} tokens · built in "
        f"{cost.get('ms', 0) / 1000:.1f} s, {cost.get('tokens_in', 0) + cost.get('tokens_out', 0)} LLM tokens"
    )
    st.bar_chart({f"{r['cluster']:03d}": r["chunks"] for r in rows}, x_label="cluster", y_label="chunks")
    st.dataframe(
        [
            {
                "cluster": r["cluster"],
                "chunks": r["chunks"],
                "documents": r["documents"],
                "summary tokens": r["summary_tokens"],
                "summary": r["summary"],
                "main documents": ", ".join(r["top_documents"]),
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )


def _histogram(values: list[int], bins: int = 16) -> dict[str, int]:
    if not values:
        return {}
    lo, hi = min(values), max(values)
    width = max(1, (hi - lo + bins) // bins)
    out: dict[str, int] = {}
    for v in values:
        b = lo + (v - lo) // width * width
        out[f"{b:04d}"] = out.get(f"{b:04d}", 0) + 1
    return dict(sorted(out.items()))


def build_from_uploads(files: list[Any], name: str, chunk: int, clusters: bool = False) -> None:
    if not files:
        st.warning("Choose at least one file to index.")
        return
    too_big = [f.name for f in files if f.size > MAX_UPLOAD_MB * 1024 * 1024]
    if too_big:
        st.error(
            f"Over the {MAX_UPLOAD_MB} MB upload limit: {', '.join(too_big)}. "
            "Index large files from the command line: `ragengine index PATH --name NAME` (it streams them)."
        )
        return
    from ragengine.ingest.loaders import LoadReport

    report = LoadReport()
    bar = st.progress(0.0, text="reading files")
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            (Path(tmp) / Path(f.name).name).write_bytes(f.getvalue())

        def progress(stage: str, done: int, total: int) -> None:
            frac = {
                "chunking": 0.1,
                "embedding": 0.1 + 0.75 * done / max(total, 1),
                "clustering": 0.88,
                "indexing": 0.95,
            }.get(stage, 0.5)
            bar.progress(min(frac, 1.0), text=f"{stage} {done}/{total or '?'}")

        try:
            m = Engine.build_index(
                [tmp],
                name,
                root=ROOT,
                chunk_size=chunk,
                chunk_overlap=min(16, chunk // 4),
                report=report,
                on_progress=progress,
                clusters=clusters,
            )
        except RagEngineError as e:
            bar.empty()
            fail(e)
            for path, why in report.skipped:
                st.warning(f"skipped {Path(path).name}: {why}")
            return
    bar.progress(1.0, text="done")
    st.success(f"Indexed {m.n_documents} documents into {m.n_chunks} chunks as {m.name!r}.")
    for path, why in report.skipped:
        st.warning(f"skipped {Path(path).name}: {why}")
    get_engine.clear()


def page_eval() -> None:
    st.header("Eval reports")
    reports = sorted(p for p in RESULTS.glob("*.json")) if RESULTS.is_dir() else []
    if not reports:
        st.info(f"No reports in {RESULTS}/: run `ragengine eval --config eval/configs/NAME.toml`.")
        return
    pick = st.selectbox("Report", [p.name for p in reports], key="report")
    path = RESULTS / str(pick)
    md = path.with_suffix(".md")
    for png in sorted(RESULTS.glob(f"{path.stem}*.png")):
        st.image(str(png), caption=png.name)
    if md.is_file():
        st.markdown(_strip_images(md.read_text(encoding="utf-8")))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        st.error(f"{path.name} is not valid JSON: {e}")
        return
    summary = data.get("summary") if isinstance(data, dict) else None
    if isinstance(summary, list) and summary and isinstance(summary[0], dict):
        st.dataframe(summary, hide_index=True)
    with st.expander("Raw JSON (first keys)"):
        st.json({k: data[k] for k in list(data)[:8]} if isinstance(data, dict) else data[:20])


def _strip_images(md: str) -> str:
    return "\n".join(line for line in md.splitlines() if not line.strip().startswith("!["))


PAGES = {"Ask": page_ask, "Why": page_why, "Index": page_index, "Eval": page_eval}


def main() -> None:
    st.set_page_config(page_title="ragengine", layout="wide")
    if "index_arg" not in st.session_state:
        st.session_state["index_arg"] = os.environ.get("RAGENGINE_UI_INDEX") or None
    st.sidebar.title("ragengine")
    st.sidebar.caption("Answers under a token budget it never exceeds.")
    page = st.sidebar.radio("Page", list(PAGES), key="page")
    PAGES[str(page)]()


main()
