"""The offline commands: ``ragengine eval``, ``ragengine bench NAME`` and ``ragengine train-reranker``.

They measure and fit; the library never imports them. Registering them imports only argparse
and ``ragengine.evaluation.arguments`` (standard library only): each handler imports its harness,
experiment or trainer when it runs, so a question asked on the command line loads no benchmark
code and changes no process setting. Every bench's ``main`` returns its exit status (0 once its
report is written).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from ragengine.evaluation.arguments import add_eval_arguments

BENCHES = {
    "selection": "ragengine.evaluation.experiments.selection",
    "selector-tuning": "ragengine.training.selector_tuning",
    "retrieval": "ragengine.evaluation.experiments.retrieval",
    "crag-rewrite-cache": "ragengine.evaluation.experiments.crag",
    "foundation": "ragengine.evaluation.experiments.foundation",
    "evidence": "ragengine.evaluation.experiments.evidence",
    "perf": "ragengine.evaluation.experiments.perf",
    "scaleout": "ragengine.evaluation.experiments.scaleout",
}


def add_offline_commands(sub: Any) -> None:
    """Add ``eval``, ``bench`` and ``train-reranker`` to the CLI's subparsers."""
    p = sub.add_parser("eval", help="run an eval config: datasets x strategies x budgets -> eval/results/NAME")
    add_eval_arguments(p)
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("bench", help="run a benchmark that writes a report under eval/results/")
    p.add_argument("which", choices=sorted(BENCHES), help="which benchmark")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="its own options (see `ragengine bench NAME --help`)")
    p.set_defaults(handler=cmd_bench)

    p = sub.add_parser("train-reranker", help="retrain the shipped term weights from ../shared/data and a seed")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of the trainer (--seed, --out, --data, ...)")
    p.set_defaults(handler=cmd_train_reranker)

    p = sub.add_parser("train-evidence", help="rebuild the shipped sentence evidence scorer from ../shared/data")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of the trainer (--out, --check, --limit, ...)")
    p.set_defaults(handler=cmd_train_evidence)


def cmd_train_reranker(args: argparse.Namespace) -> int:
    from ragengine.training.reranker import main as train_main

    return train_main(list(args.rest))


def cmd_train_evidence(args: argparse.Namespace) -> int:
    from ragengine.training.evidence import main as train_main

    return train_main(list(args.rest))


def cmd_eval(args: argparse.Namespace) -> int:
    from ragengine.evaluation.harness import run_from_args

    return run_from_args(args)


def cmd_bench(args: argparse.Namespace) -> int:
    module = importlib.import_module(BENCHES[args.which])
    return int(module.main(list(args.rest)))
