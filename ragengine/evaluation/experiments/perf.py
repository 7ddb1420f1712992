"""Performance benchmark: index at the encoder's speed, update without rebuilding, bounded memory, fast queries.

Run: ``ragengine bench perf [--corpora demo,squad,5k,50k] [--out eval/results/perf]`` ->
``<out>.json``, ``<out>.md`` and ``<out>.png``. Each corpus is measured in a fresh process
(``perf_worker``) so peak memory is that corpus's own; inside it every figure is a ratio to a
baseline run in that process on the same texts (the raw encoder for indexing, the full build for
updates, encoder + FAISS + bm25s for queries). Wall clock and CPU time are both given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragengine.evaluation.experiments.perf_corpora import CORPORA


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragengine bench perf", description=__doc__.splitlines()[0])
    p.add_argument("--corpora", default="demo,squad,5k,50k", help=f"comma-separated, of {', '.join(CORPORA)}")
    p.add_argument("--out", type=Path, default=Path("eval/results/perf"))
    p.add_argument("--merge", action="store_true", help="keep the corpora of an existing report not run now")
    p.add_argument("--smoke", action="store_true", help="only the 30-paragraph smoke corpus (a quick check)")
    p.add_argument("--keep", type=Path, default=None, help="build the indexes under KEEP/CORPUS and keep them")
    return p


def run_corpus(corpus: str, keep: Path | None = None) -> dict[str, Any]:
    t = time.perf_counter()
    extra = [str(keep / corpus)] if keep is not None else []
    out = subprocess.run(
        [sys.executable, "-m", "ragengine.evaluation.experiments.perf_worker", corpus, *extra],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"perf worker for {corpus} failed:\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["worker_s"] = round(time.perf_counter() - t, 1)
    return res


def main(argv: Sequence[str] | None = None) -> int:
    from ragengine.evaluation.report.perf import write_outputs

    a = _parser().parse_args(argv)
    names = ["smoke"] if a.smoke else [c.strip() for c in a.corpora.split(",") if c.strip()]
    bad = [c for c in names if c not in CORPORA]
    if bad:
        print(f"error: unknown corpus {bad[0]!r}; choose from {', '.join(CORPORA)}", file=sys.stderr)
        return 2
    old: dict[str, Any] = {}
    if a.merge and a.out.with_suffix(".json").is_file():
        old = json.loads(a.out.with_suffix(".json").read_text())["corpora"]
    results: dict[str, Any] = {}
    for c in names:
        print(f"perf: {c} ...", file=sys.stderr, flush=True)
        results[c] = run_corpus(c, a.keep)
    merged = {**{k: v for k, v in old.items() if k not in results}, **results}
    order = {c: i for i, c in enumerate(CORPORA)}
    doc = {
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "ragengine bench perf " + " ".join(argv or []),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "corpora": dict(sorted(merged.items(), key=lambda kv: order[kv[0]])),
    }
    for path in write_outputs(doc, a.out):
        print(path)
    return 0
