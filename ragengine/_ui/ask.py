"""The Ask page: a question under a budget, the answer, its citations and what each stage cost."""

from __future__ import annotations

import streamlit as st

from ragengine import Budget, cited_documents
from ragengine._ui.common import fail, get_engine, ledger_view, local_generators, path_note, pick_index, root
from ragengine.config import CLUSTER_MODES, RETRIEVAL_MODES, REWRITE_MODES, STRATEGIES
from ragengine.errors import RagEngineError


def page_ask() -> None:
    st.header("Ask")
    name = pick_index("ask_index")
    if name is None:
        return
    c1, c2, c3 = st.columns(3)
    strategy = c1.selectbox(
        "Strategy", STRATEGIES, index=STRATEGIES.index("evidence"), key="strategy", help="evidence: scored sentences"
    )
    generator = c2.selectbox("Generator", local_generators(), key="generator")
    retrieval = c3.selectbox("Retrieval", RETRIEVAL_MODES, key="retrieval")
    d1, d2, d3 = st.columns(3)
    clusters = d1.selectbox("Clusters (CRAG)", CLUSTER_MODES, key="clusters", help="auto: if the index has any")
    rewrite = d2.selectbox("Query rewrite", REWRITE_MODES, key="rewrite", help="llm needs the llm generator")
    cache = d3.toggle("Answer cache", value=False, key="cache", help="serve repeated questions without LLM tokens")
    budget = st.slider("Context budget (tokens)", 16, 2048, 256, step=16, key="budget")
    with st.form("ask_form", border=False):  # Enter in the question box asks, as the button does
        question = st.text_input("Question", key="question")
        asked = st.form_submit_button("Ask", type="primary", key="ask_button")
    if asked:
        if not question.strip():
            st.warning("Type a question first.")
            return
        try:
            engine = get_engine(name, root(), generator, retrieval, clusters, rewrite, cache)
            answer = engine.ask(question, Budget(context_tokens=budget), strategy=strategy)
        except RagEngineError as e:
            fail(e)
            return
        st.session_state["last"] = {
            "index": name,
            "question": question,
            "strategy": strategy,
            "generator": generator,
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
    st.markdown(f"#### {ans['answer']}" if ans["answer"] else "*(dry run: context selected, nothing generated)*")
    sel, cost = ans["trace"].get("selection", {}), ans["cost"]
    stats = sel.get("stats", {})
    evidence = f" · P(answer in context) {stats['value']}" if "value" in stats else ""
    st.caption(
        f"spent {cost['context_tokens']} of {sel.get('context_budget', last['budget'])} context tokens · "
        f"{cost['total_tokens']} LLM tokens · {cost['ms']:.0f} ms{evidence}"
    )
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
