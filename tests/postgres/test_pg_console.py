"""The console over a PostgreSQL store (``ragengine ui --store URL``): it lists, opens and answers from the database."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="install ragengine[ui]")
from streamlit.testing.v1 import AppTest

from ragengine import Engine
from ragengine.index.pg_server import LocalServer
from tests.conftest import REPO

pytestmark = pytest.mark.postgres


def test_the_console_asks_an_index_held_in_the_store(
    server: LocalServer, tiny_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Engine.push_index(tiny_index, server.url, name="tiny-console")
    monkeypatch.setenv("RAGENGINE_STORE", server.url)
    monkeypatch.setenv("RAGENGINE_INDEXES", str(tmp_path / "no-local-indexes"))
    monkeypatch.delenv("RAGENGINE_UI_INDEX", raising=False)
    at = AppTest.from_file(str(REPO / "ragengine" / "_ui" / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert "tiny-console" in at.selectbox(key="ask_index").options
    at.selectbox(key="ask_index").select("tiny-console")
    at.selectbox(key="generator").select("extractive")
    at.selectbox(key="strategy").select("greedy")
    at.slider(key="budget").set_value(32)
    at.text_input(key="question").input("What is the capital of Italy?")
    at.button(key="ask_button").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Rome is the capital of Italy." in m.value for m in at.markdown)
