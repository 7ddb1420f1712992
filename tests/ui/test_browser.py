"""A real browser: `ragengine ui` serves on 127.0.0.1, headless Chromium asks a question and saves a screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ragengine.browser import CHROMIUM_FLAGS, chromium_path, free_port, wait_healthy

pytestmark = pytest.mark.integration
playwright = pytest.importorskip("playwright.sync_api", reason="install ragengine[ui] (playwright)")
CHROMIUM = chromium_path()


def test_ask_in_a_real_browser(tiny_index: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it: apt-get install chromium)")
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ragengine.cli",
            "ui",
            "--index",
            "tiny",
            "--root",
            str(tiny_index.parent),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url):
            pytest.fail("the console did not start within 120 s")
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS), headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url, timeout=120_000)
            box = page.get_by_label("Question")
            box.wait_for(timeout=120_000)
            box.fill("What is the capital of Italy?")
            box.press("Enter")  # Enter alone asks (the question box and the button are one form)
            page.get_by_text("Rome is the capital of Italy.").first.wait_for(timeout=120_000)
            shot = tmp_path / "ask.png"
            page.screenshot(path=str(shot), full_page=True)
            out = os.environ.get("RAGENGINE_SCREENSHOTS")
            if out:
                Path(out).mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, Path(out) / "browser-ask.png")
            browser.close()
        assert shot.stat().st_size > 10_000
    finally:
        server.terminate()
        server.wait(timeout=30)
