"""Capture a screenshot of each console page with headless Chromium: `python ui/screenshots.py [--index demo]`.

Starts `ragengine ui` on 127.0.0.1, asks a question on the demo index with MCTS, visits every page
and writes ui/screenshots/{ask,why,index,eval}.png.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from ragengine.browser import CHROMIUM_FLAGS, chromium_path, free_port, wait_healthy

OUT = Path(__file__).resolve().parent / "screenshots"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default="demo")
    ap.add_argument("--question", default="When was Sky Digital launched?")
    args = ap.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ragengine.cli", "ui", "--index", args.index, "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url):
            raise SystemExit("the console did not start within 120 s")
        OUT.mkdir(exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_FLAGS))
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(url, timeout=120_000)
            page.get_by_label("Question").wait_for(timeout=120_000)
            page.get_by_role("combobox", name="Strategy").click()
            page.get_by_role("option", name="mcts").click()
            page.get_by_label("Question").fill(args.question)
            page.get_by_label("Question").press("Enter")  # the question box submits on Enter
            page.get_by_text("Citations (").wait_for(timeout=300_000)
            time.sleep(2)
            page.screenshot(path=str(OUT / "ask.png"), full_page=True)
            tall = {"Index": 2900, "Why": 2400}  # streamlit scrolls inside the page: show more of it
            for name in ("Why", "Index", "Eval"):
                page.set_viewport_size({"width": 1400, "height": tall.get(name, 1100)})
                page.get_by_text(name, exact=True).first.click()
                page.get_by_role("heading", name=name, exact=True).wait_for(timeout=120_000)
                time.sleep(4)
                page.screenshot(path=str(OUT / f"{name.lower()}.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("wrote", sorted(p.name for p in OUT.glob("*.png")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
