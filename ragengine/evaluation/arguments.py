"""The options of ``ragengine eval``, defined with the standard library only.

The command line adds them to its ``eval`` sub-command when it builds its parser, so parsing any
command (``ragengine ask``, ``ragengine --help``) imports this module and nothing heavier: no
harness, no numpy, no model, and no process setting changes. Cost: nothing beyond argparse.
"""

from __future__ import annotations

import argparse


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    """The `ragengine eval` options, for the CLI to add to its subparser."""
    p.add_argument("--config", required=True, help="eval/configs/NAME.toml")
    p.add_argument("--limit", type=int, default=None, help="first N questions of each dataset (smoke runs)")
    p.add_argument("--results-dir", default=None, help="where NAME.json/.md go (default: the config's results_dir)")
    p.add_argument("--fresh", action="store_true", help="discard the partial file and start over")
    p.add_argument("--report-only", action="store_true", help="write the report from the records already done")
    p.add_argument("--max-new-records", type=int, default=None, help="stop after this many new records")
    p.add_argument("--dataset", action="append", default=None, help="run only this dataset (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--reverse",
        action="store_true",
        help="last question first (a second process with its own --results-dir fills a run from the other end)",
    )
    p.add_argument(
        "--pack",
        action="store_true",
        help="after the report, gzip the partial records to NAME.partial.jsonl.gz (commit it to resume elsewhere)",
    )
