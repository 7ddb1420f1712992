"""The Why page: every candidate's fate and cost, the MCTS tree, and a what-if budget slider."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ragengine import Budget
from ragengine._ui.common import fail, get_engine, root
from ragengine.errors import RagEngineError


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
    stats = ans["trace"].get("selection", {}).get("stats", {})
    if stats.get("sentences"):
        sentence_fates(stats)
    if stats.get("tree"):
        st.subheader("MCTS search tree")
        st.caption(
            f"{stats.get('iterations')} iterations · {stats.get('states_scored')} states scored · "
            f"best reward {stats.get('best_reward', 0):.3f} · {stats.get('time_ms', 0):.1f} ms"
        )
        st.pyplot(tree_figure(stats["tree"]))
    st.subheader("What if the budget were different?")
    stages = last.get("stages", {"clusters": "auto", "rewrite": "none"})
    engine = get_engine(last["index"], root(), "none", last["retrieval"], stages["clusters"], stages["rewrite"])
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
