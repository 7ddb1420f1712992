"""ragengine console: ask under a budget, see why each chunk was kept or dropped, build indexes, read evals.

Run with `ragengine ui [--index NAME]` (serves on 127.0.0.1). Everything shown comes from the public
API (`ragengine.Engine`, `Answer.trace`, `Answer.cost`); the console holds no retrieval logic. One
module per page.
"""

from __future__ import annotations

import os

import streamlit as st

from ragengine._ui.ask import page_ask
from ragengine._ui.indexes import page_index
from ragengine._ui.reports import page_eval
from ragengine._ui.why import page_why

PAGES = {"Ask": page_ask, "Why": page_why, "Index": page_index, "Eval": page_eval}


def main() -> None:
    st.set_page_config(page_title="ragengine", layout="wide")
    if "index_arg" not in st.session_state:
        st.session_state["index_arg"] = os.environ.get("RAGENGINE_UI_INDEX") or None
    st.sidebar.title("ragengine")
    st.sidebar.caption("Answers under a token budget it never exceeds.")
    page = st.sidebar.radio("Page", list(PAGES), key="page")
    PAGES[str(page)]()


if __name__ == "__main__":
    main()
