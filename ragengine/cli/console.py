"""``ragengine ui``: serve the Streamlit console (shipped inside the package) on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ragengine.config import MAX_UPLOAD_MB
from ragengine.errors import InvalidInput


def ui_app_path() -> Path:
    """The console script, shipped inside the package (``ragengine/_ui/``, one module per page)."""
    import ragengine

    path = (Path(ragengine.__file__).parent / "_ui" / "app.py").resolve()
    if not path.is_file():
        raise InvalidInput(f"the console app is missing at {path}; reinstall ragengine with the ui extra")
    return path


def cmd_ui(args: argparse.Namespace) -> int:
    """Serve the console on 127.0.0.1 only, with Streamlit's XSRF protection and same-origin CORS on.

    Streamlit has no allow-list for the ``Host`` header, so a page on another site could reach the
    console by DNS rebinding if it listened on a public address: it never does here. Expose it to
    others only behind a reverse proxy that checks ``Host`` (and adds authentication).
    """
    import importlib.util
    import os

    if importlib.util.find_spec("streamlit") is None:
        from ragengine.errors import MissingDependency

        raise MissingDependency("the console (streamlit)", "ui")
    env = dict(os.environ)
    if args.index:
        env["RAGENGINE_UI_INDEX"] = args.index
    if args.root:
        env["RAGENGINE_INDEXES"] = str(args.root)
    if getattr(args, "store", None):
        env["RAGENGINE_STORE"] = str(args.store)
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ui_app_path()),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.enableXsrfProtection",
        "true",
        "--server.enableCORS",
        "true",
        "--server.maxUploadSize",
        str(MAX_UPLOAD_MB),
    ]
    print(f"serving the console on http://127.0.0.1:{args.port}", file=sys.stderr)
    sys.stderr.flush()
    os.execve(sys.executable, cmd, env)  # become the server: signals reach streamlit directly
