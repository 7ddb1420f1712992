"""The Index page: build an index from uploaded files, corpus statistics and the CRAG clusters."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from ragengine import Engine, LoadReport
from ragengine._ui.common import fail, get_engine, pick_index, root, where
from ragengine.config import MAX_UPLOAD_MB
from ragengine.errors import RagEngineError


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
        engine = get_engine(name, root(), "none", "hybrid")
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
    documents_view(engine, name)
    clusters_view(engine, name)


def documents_view(engine: Engine, name: str) -> None:
    """The index's documents, with uploads added (only new or changed ones encoded) and ids removed."""
    st.subheader("Documents")
    done = st.session_state.pop("documents_updated", None)
    if done:
        st.success(done)
    docs = engine.documents()
    st.dataframe([{"document": d, "chunks": n} for d, n in docs.items()], hide_index=True, width="stretch")
    files = st.file_uploader("Add or replace files", accept_multiple_files=True, key="add_uploads")
    if st.button("Add to index", key="add_docs"):
        if not files:
            st.warning("Choose at least one file to add.")
        else:
            _update(engine, lambda folder: engine.add_documents([folder], relative_ids=True), files)
    gone = st.multiselect("Remove documents", list(docs), key="remove_ids")
    if st.button("Remove", key="remove_docs"):
        if not gone:
            st.warning("Choose at least one document to remove.")
        else:
            _update(engine, lambda _: engine.remove_documents(gone), [])


def _update(engine: Engine, change: Any, files: list[Any]) -> None:
    too_big = [f.name for f in files if f.size > MAX_UPLOAD_MB * 1024 * 1024]
    if too_big:
        st.error(
            f"Over the {MAX_UPLOAD_MB} MB upload limit: {', '.join(too_big)}; use `ragengine add` for large files."
        )
        return
    with tempfile.TemporaryDirectory() as tmp, st.spinner("Updating the index..."):
        for f in files:
            (Path(tmp) / Path(f.name).name).write_bytes(f.getvalue())
        try:
            r = change(tmp)
        except RagEngineError as e:
            fail(e)
            return
    st.session_state["documents_updated"] = (
        f"Updated: {r.documents_new} new, {r.documents_changed} changed, {r.documents_removed} removed; "
        f"{r.chunks_embedded} chunks encoded, {r.chunks_reused} reused."
    )
    get_engine.clear()
    st.rerun()


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
    report = LoadReport(quiet=True)  # printed below, once per file
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
                **where(root()),
                chunk_size=chunk,
                chunk_overlap=min(16, chunk // 4),
                report=report,
                on_progress=progress,
                clusters=clusters,
                relative_ids=True,
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
