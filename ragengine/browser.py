"""Headless Chromium for the console: the flags, a free local port and a health wait.

Used by the real-browser test (``tests/ui/test_browser.py``) and the screenshot script
(``ui/screenshots.py``), so both drive Debian's chromium the same way.
"""

from __future__ import annotations

import shutil
import socket
import time
import urllib.request

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str:
    """Debian's chromium (``apt-get install chromium``; ``make test`` installs it)."""
    return shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, timeout_s: float = 120.0) -> bool:
    """Whether the Streamlit server at ``url`` answered its health check within ``timeout_s``."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False
