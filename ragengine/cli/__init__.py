"""`ragengine index|add|remove|cluster|ask|search|info|ui|eval|bench|train-reranker`: the command line.

The online commands call only the public API (``cli.commands``); the offline ones (``cli.offline``)
load their harness only when they run. Errors print one line (``error: ...``) on stderr and exit
with status 2.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from ragengine.cli.commands import (
    cmd_add,
    cmd_ask,
    cmd_cluster,
    cmd_index,
    cmd_info,
    cmd_push,
    cmd_remove,
    cmd_search,
)
from ragengine.cli.console import cmd_ui, ui_app_path
from ragengine.cli.parser import build_parser
from ragengine.errors import RagEngineError

__all__ = ["build_parser", "main", "ui_app_path"]


COMMANDS = {
    "index": cmd_index,
    "add": cmd_add,
    "remove": cmd_remove,
    "ask": cmd_ask,
    "info": cmd_info,
    "cluster": cmd_cluster,
    "ui": cmd_ui,
    "search": cmd_search,
    "push": cmd_push,
}


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so an interrupted write removes its temp folder."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # a pass-through command (bench, train-*) takes its own options, even as the first word
        if not hasattr(args, "rest"):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.rest = [*extra, *args.rest]
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return _run(args)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _run(args: Any) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        handler = getattr(args, "handler", None) or COMMANDS[args.command]
        return int(handler(args))
    except RagEngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
