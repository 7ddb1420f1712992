"""The Eval page: a small eval on the user's own index and questions (``own_eval``), then the
committed reports, their plots, tables and raw JSON."""

from __future__ import annotations

import json

import streamlit as st

from ragengine._ui.own_eval import own_eval
from ragengine.paths import results_root


def page_eval() -> None:
    st.header("Eval")
    own_eval()
    st.subheader("Eval reports")
    results = results_root()
    reports = sorted(p for p in results.glob("*.json")) if results.is_dir() else []
    if not reports:
        st.info(f"No reports in {results}/: run `ragengine eval --config eval/configs/NAME.toml`.")
        return
    pick = st.selectbox("Report", [p.name for p in reports], key="report")
    path = results / str(pick)
    md = path.with_suffix(".md")
    for png in sorted(results.glob(f"{path.stem}*.png")):
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
