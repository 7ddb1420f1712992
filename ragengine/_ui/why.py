"""The Why page: every candidate's fate, cost and text, the MCTS search's best paths, and a what-if budget
(a dry run of the selection; the answer and its cost on request)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ragengine import Budget
from ragengine._ui.common import fail, get_engine, root
from ragengine.errors import RagEngineError

SCORE_HELP = {
    "score": "the ranking score the selector saw (after fusion and re-ranking)",
    "rrf": "reciprocal-rank fusion of the BM25 and dense lists: high when both rank the chunk high",
    "bm25": "lexical match: BM25 over the question's words",
    "dense": "meaning match: cosine of the MiniLM embeddings of question and chunk",
    "terms": "term re-ranker: learned weights of the question's terms in the chunk (TILDE-style)",
}


def best_paths(tree: list[dict[str, Any]], k: int = 5) -> list[dict[str, Any]]:
    """The ``k`` most visited states (what the search believed in; ties by mean reward) and the chosen
    one, each as its path of candidate ranks."""
    by_id = {n["id"]: n for n in tree}

    def path(n: dict[str, Any]) -> list[int]:
        out: list[int] = []
        while n is not None and n.get("chunk") is not None:
            out.append(int(n["chunk"]))
            n = by_id.get(n.get("parent"))  # type: ignore[assignment]
        return out[::-1]

    visited = [n for n in tree if n.get("visits", 0) > 0 and n.get("chunk") is not None]
    top = sorted(visited, key=lambda n: (-n["visits"], -n["mean_reward"]))[:k]
    chosen = [n for n in tree if n.get("best")]
    for n in chosen:
        if n not in top and n.get("chunk") is not None:
            top.append(n)
    return [
        {
            "path (candidate ranks)": " -> ".join(str(r) for r in path(n)),
            "mean reward": round(n["mean_reward"], 4),
            "visits": n["visits"],
            "tokens": n["cost"],
            "chosen": bool(n.get("best")),
            "id": n["id"],
        }
        for n in top
    ]


def tree_figure(tree: list[dict[str, Any]], keep: set[int] | None = None) -> Any:
    """The search tree as a layered graph; with ``keep``, only those nodes and their ancestors."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    by_id = {n["id"]: n for n in tree}
    if keep is not None:
        wanted: set[int] = set()
        for start in keep:
            i: int | None = start
            while i is not None and i not in wanted:
                wanted.add(i)
                i = by_id.get(i, {}).get("parent")
        tree = [n for n in tree if n["id"] in wanted]
    g = nx.DiGraph()
    for n in tree:
        g.add_node(n["id"], **n)
        if n.get("parent") is not None and n["parent"] in {m["id"] for m in tree}:
            g.add_edge(n["parent"], n["id"])
    depth = nx.single_source_shortest_path_length(g, min(g.nodes)) if len(g) else {}
    layers: dict[int, list[int]] = {}
    for node, d in depth.items():
        layers.setdefault(d, []).append(node)
    pos = {node: (i - len(ns) / 2, -d) for d, ns in layers.items() for i, node in enumerate(sorted(ns))}
    fig, ax = plt.subplots(figsize=(10, 4))
    nodes = [n for n in g.nodes if n in pos]
    colors = [g.nodes[n].get("mean_reward", 0.0) for n in nodes]
    sizes = [60 + 10 * g.nodes[n].get("visits", 0) ** 0.5 for n in nodes]
    nx.draw_networkx_edges(g.subgraph(nodes), pos, ax=ax, alpha=0.4, arrows=False)
    art = nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_color=colors, node_size=sizes, cmap="viridis", ax=ax)
    labels = {n: str(g.nodes[n].get("chunk")) for n in nodes if g.nodes[n].get("chunk") is not None}
    nx.draw_networkx_labels(g, pos, labels=labels, font_size=7, ax=ax)
    best = [n for n in nodes if g.nodes[n].get("best")]
    nx.draw_networkx_nodes(g, pos, nodelist=best, node_color="none", edgecolors="red", node_size=160, ax=ax)
    fig.colorbar(art, ax=ax, label="mean reward")
    ax.set_title("MCTS: the best paths (label = candidate rank, size ~ visits, red = chosen)")
    ax.axis("off")
    return fig


def sentence_fates(stats: dict[str, Any]) -> None:
    """Every candidate sentence with its evidence probability, cost and fate, best first."""
    st.subheader("Sentences")
    saved = f" · stopped early, {stats['tokens_saved']} tokens saved" if stats.get("stopped") == "adaptive" else ""
    verdict = "enough evidence" if stats.get("sufficient") else "the evidence looks insufficient"
    st.caption(
        f"{stats.get('sentences_chosen')} of {stats.get('sentences_offered')} sentences chosen · "
        f"P(answer in context) {stats.get('value')} ({verdict}){saved}"
    )
    rows = sorted(stats["sentences"], key=lambda r: -r["p"])
    st.dataframe(
        [
            {"fate": r["fate"], "p": r["p"], "tokens": r["tokens"], "sentence": r["text"], "chunk_id": r["chunk_id"]}
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )


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
    shown = [k for k in SCORE_HELP if any(r.get(k) is not None for r in rows)]
    st.caption(" · ".join(f"**{k}**: {SCORE_HELP[k]}" for k in shown))
    stages = last.get("stages", {"clusters": "auto", "rewrite": "none"})
    engine = get_engine(last["index"], root(), "none", last["retrieval"], stages["clusters"], stages["rewrite"])
    if retrieved is None and stages["rewrite"] != "llm":
        try:
            retrieved = engine.retrieve(last["question"])
        except RagEngineError as e:
            fail(e)
            return
        st.session_state["retrieved"] = retrieved
    if retrieved is not None:
        texts = {c.chunk.chunk_id: c.chunk.text for c in retrieved.candidates}
        cands = ans["trace"].get("candidates", [])
        with st.expander(f"Each candidate's text and full id ({len(cands)})"):
            for c in cands:
                st.markdown(f"**#{c['rank']} · {c['fate']} · {c['cost']} tokens** · `{c['chunk_id']}`")
                st.text(texts.get(c["chunk_id"], "(text not among the cached candidates)"))
    stats = ans["trace"].get("selection", {}).get("stats", {})
    if stats.get("sentences"):
        sentence_fates(stats)
    if stats.get("tree"):
        st.subheader("MCTS search tree")
        st.caption(
            f"{stats.get('iterations')} iterations · {stats.get('states_scored')} states scored · "
            f"best reward {stats.get('best_reward', 0):.3f} · {stats.get('time_ms', 0):.1f} ms"
        )
        paths = best_paths(stats["tree"])
        st.dataframe([{k: v for k, v in r.items() if k != "id"} for r in paths], hide_index=True)
        st.pyplot(tree_figure(stats["tree"], keep={r["id"] for r in paths}))
    st.subheader("What if the budget were different?")
    if retrieved is None:
        st.info("The what-if needs the candidates again; with the llm rewrite that is another LLM call, so it is off.")
        return
    st.caption("Re-runs only the selection over the cached candidates: no retrieval, no model call.")
    what_if = st.slider("Budget", 16, 2048, int(last["budget"]), step=16, key="what_if")
    budget = Budget(context_tokens=what_if)
    try:
        alt = engine.ask(last["question"], budget, strategy=last["strategy"], retrieved=retrieved)
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
    generator = last.get("generator", "extractive")
    if st.button(f"Answer with {what_if} tokens ({generator})", key="what_if_answer"):
        reader = get_engine(last["index"], root(), generator, last["retrieval"], stages["clusters"], stages["rewrite"])
        try:
            got = reader.ask(last["question"], budget, strategy=last["strategy"], retrieved=retrieved)
        except RagEngineError as e:
            fail(e)
            return
        st.markdown(f"**{got.text or '(no answer)'}**")
        st.caption(
            f"spent {got.cost.context_tokens} of {what_if} context tokens · {got.cost.total_tokens} LLM tokens "
            f"in all (the answer above: {ans['cost'].get('total_tokens', 0)})"
        )
