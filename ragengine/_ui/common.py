"""What every console page shares: the index root, one cached engine per setting, error and ledger views."""

from __future__ import annotations

import os
from typing import Any, cast

import streamlit as st

from ragengine import Engine, EngineConfig, default_generator_name
from ragengine.config import GENERATORS, RetrievalMode
from ragengine.paths import index_root, masked_url


def local_generators() -> tuple[str, ...]:
    """The local generators, the CLI's default first (``llm`` when a reader is installed, else
    ``extractive``), so one question gets the same answer in both; the OpenAI-compatible one needs a
    server URL, which the CLI takes."""
    first = default_generator_name()
    return (first, *(g for g in GENERATORS if g not in (first, "openai")))


def root() -> str:
    """Where indexes live, read on every run: a database store (``$RAGENGINE_STORE``, set by
    ``ragengine ui --store URL``) or the index folder (``$RAGENGINE_INDEXES`` or ``./indexes``)."""
    return os.environ.get("RAGENGINE_STORE") or str(index_root())


def where(root: str) -> dict[str, Any]:
    """``Engine`` keyword arguments for ``root``: ``store=`` for a database URL, else ``root=``."""
    return {"store": root} if root.startswith(("postgresql://", "postgres://")) else {"root": root}


def label(root: str) -> str:
    """``root`` for people (a store URL with its password masked)."""
    return masked_url(root) if "://" in root else root + "/"


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
        return Engine.from_index(
            name, **where(root), generator=generator, config=EngineConfig(retrieval=cast(RetrievalMode, retrieval))
        )
    return get_engine(name, root, generator, retrieval).with_config(clusters=clusters, rewrite=rewrite, cache=cache)


def fail(e: Exception) -> None:
    st.error(f"{type(e).__name__}: {e}")


def pick_index(key: str) -> str | None:
    names = Engine.list_indexes(**where(root()))
    wanted = st.session_state.get("index_arg")
    if wanted and wanted not in names:
        st.error(
            f"No index named {wanted!r} in {label(root())}. Build one on the Index page or with `ragengine index`."
        )
    if not names:
        st.info(f"No index in {label(root())} yet: build one on the Index page.")
        return None
    default = names.index(wanted) if wanted in names else 0
    return str(st.selectbox("Index", names, index=default, key=key))


def ledger_view(cost: dict[str, Any]) -> None:
    priced = cost["usd"] > 0  # a column of zero dollars says nothing (the local reader is free)
    fields = ("tokens_in", "tokens_out", "llm_calls", "ms", *(("usd",) if priced else ()))
    rows = [
        {"stage": k, **{f: round(v[f], 1) if f == "ms" else v[f] for f in fields}} for k, v in cost["stages"].items()
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    charts = ["ms", "tokens_in", "tokens_out", *(["usd"] if priced else [])]
    metric = st.radio("Chart", charts, horizontal=True, key="ledger_metric")
    st.bar_chart({r["stage"]: r[metric] for r in rows}, horizontal=True)
    st.caption(
        f"context {cost['context_tokens']} tokens · LLM total {cost['total_tokens']} tokens · "
        f"{cost['llm_calls']} LLM calls · {cost['ms']:.0f} ms" + (f" · ${cost['usd']:.5f}" if priced else "")
    )


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
