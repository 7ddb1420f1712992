"""`ragengine eval --config eval/configs/NAME.toml`: datasets x strategies x budgets, resumable.

For each question the candidates are retrieved once and reused by every strategy and budget
(``Engine.retrieve`` + ``ask(retrieved=...)``); each (question, strategy, budget) gives one
record, appended to ``eval/results/NAME.partial.jsonl`` as soon as it is scored. A crashed or
interrupted run resumes by skipping the records already there (a half-written last line is
dropped), so nothing finished is lost; the final ``NAME.json``/``NAME.md`` and plots are written
from all records. Models load once per run: one embedder, one generator, one index per corpus.
Cost: one retrieval per question, one selection per record, and one generation per distinct
prompt (identical prompts are generated once per question).

>>> run_eval("eval/configs/smoke.toml", limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragengine.errors import InvalidInput, RagEngineError
from ragengine.evaluation.arguments import add_eval_arguments
from ragengine.evaluation.config import ConfigError, DatasetSpec, EvalConfig, load_config
from ragengine.evaluation.generators import CachingGenerator, make_generator
from ragengine.evaluation.indexes import eval_index
from ragengine.evaluation.partial import (
    Partial,
    PartialWriter,
    pack_partial,
    read_partial,
    record_key,
    results_paths,
    unpack_partial,
)
from ragengine.evaluation.records import Setup, ask_record, llamaindex_record, ranked_doc_ids
from ragengine.evaluation.scoring import load_questions, retrieval_scores
from ragengine.types import Retrieved

log = logging.getLogger(__name__)


class _Runner:
    """The models of one run, each loaded once: the embedder, a generator per name, an engine per index."""

    def __init__(self, cfg: EvalConfig, generator: Any = None) -> None:
        self.cfg = cfg
        self._generator_override = generator
        self._embedders: dict[str, Any] = {}
        self._generators: dict[str, CachingGenerator | None] = {}
        self._setups: dict[tuple[str, str], Setup] = {}
        self._llamaindex_bases: dict[str, Any] = {}  # index folder -> built LlamaIndexBaseline

    def embedder(self) -> Any:
        from ragengine.embed.registry import get_embedder

        name = self.cfg.index.embedder
        if name not in self._embedders:
            self._embedders[name] = get_embedder(name)
        return self._embedders[name]

    def generator(self, name: str) -> CachingGenerator | None:
        if name not in self._generators:
            gen = self._generator_override if self._generator_override is not None and name != "none" else None
            gen = gen or make_generator(name, self.cfg)
            self._generators[name] = CachingGenerator(gen) if gen is not None else None
        return self._generators[name]

    def setup(self, ds: DatasetSpec) -> Setup:
        from ragengine import Engine, EngineConfig

        folder = eval_index(self.cfg, ds, self.embedder())
        gname = self.cfg.generator_for(ds)
        key = (str(folder), gname)
        if key not in self._setups:
            gen = self.generator(gname)
            config = EngineConfig(
                retrieval=self.cfg.retrieval,
                reranker=self.cfg.reranker,
                rewrite=self.cfg.rewrite,
                candidates=self.cfg.candidates,
                max_new_tokens=self.cfg.max_new_tokens,
                seed=self.cfg.seed,
            )
            engine = Engine(
                folder, generator=gen if gen is not None else "none", embedder=self.embedder(), config=config
            )
            li = self._llamaindex(engine, gen) if "llamaindex" in self.cfg.strategies_for(ds) else None
            self._setups[key] = Setup(engine, gen, li)
        return self._setups[key]

    def _llamaindex(self, engine: Any, gen: CachingGenerator | None) -> Any:
        from ragengine.evaluation.baselines import LlamaIndexBaseline, generator_backend, llama_cpp_backend

        key = str(engine.folder)
        if key not in self._llamaindex_bases:
            self._llamaindex_bases[key] = LlamaIndexBaseline(
                engine.index.chunks,
                self.embedder(),
                engine.counter,
                None,
                similarity_top_k=self.cfg.llamaindex_top_k,
                max_new_tokens=self.cfg.max_new_tokens,
            ).build()
        base = self._llamaindex_bases[key]
        if gen is None:
            return base
        llama = gen.load() if gen.name == "llm" else None
        if llama is not None:
            return base.with_backend(llama_cpp_backend(llama, max_tokens=self.cfg.max_new_tokens, seed=self.cfg.seed))
        other = base.with_backend(None)
        other.backend = generator_backend(gen.inner, other, self.cfg.max_new_tokens)
        return other.build()

    def selector(self, strategy: str, counter: Any = None) -> Any:
        """The selector ``strategy`` names; sentence-level ones count with ``counter`` (the engine's)."""
        if strategy == "topk":
            from ragengine.evaluation.baselines import TopKSelector

            return TopKSelector()
        from ragengine.select.registry import get_selector

        return get_selector(strategy, counter=counter, **self.cfg.strategy_options.get(strategy, {}))


@dataclass
class EvalResult:
    """What ``run_eval`` wrote and how long this session took."""

    json_path: Path
    md_path: Path
    records: int
    new_records: int
    seconds: float
    summary: dict[str, Any]


def run_eval(
    config: str | Path | EvalConfig,
    limit: int | None = None,
    *,
    results_dir: str | Path | None = None,
    fresh: bool = False,
    report_only: bool = False,
    progress: bool = True,
    max_new_records: int | None = None,
    generator: Any = None,
    datasets: Sequence[str] | None = None,
    reverse: bool = False,
) -> EvalResult:
    """Run (or resume) an eval config and write ``NAME.json``, ``NAME.md`` and the plots.

    ``limit`` keeps the first N questions of each dataset (a smoke run); ``report_only`` writes
    the report from the records already in the partial file; ``max_new_records`` stops after
    that many new records (to bound a session); ``datasets`` runs only the named datasets (the
    report still covers every dataset with records); ``reverse`` works from the last question
    back (two processes, each with its own ``results_dir``, can then split a long run; concatenating
    their partial files merges them: records are keyed); ``generator`` replaces the configured
    generator object (tests). Raises ``ConfigError`` / ``DatasetError`` naming the file and key or record.
    """
    cfg = config if isinstance(config, EvalConfig) else load_config(config)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise InvalidInput(f"limit must be a positive int, got {limit!r}")
    names = [d.name for d in cfg.datasets]
    unknown = [d for d in datasets or () if d not in names]
    if unknown:
        raise ConfigError(f"{cfg.source or cfg.name}: no dataset named {unknown[0]!r}; datasets: {', '.join(names)}")
    out_dir, partial_path = results_paths(cfg, results_dir)
    if fresh and partial_path.exists():
        partial_path.unlink()
    if not fresh:
        unpack_partial(partial_path)
    part = read_partial(partial_path, cfg)
    t0 = time.time()
    new = 0
    if not report_only:
        only = set(datasets) if datasets else set(names)
        new = _run(cfg, limit, part, partial_path, progress, max_new_records, generator, t0, only, reverse)
    from ragengine.evaluation.report.harness import write_report

    questions = {ds.name: [e.id for e in load_questions(ds, cfg.seed, limit)] for ds in cfg.datasets}
    summary = write_report(cfg, list(part.records.values()), part.sessions, out_dir, questions)
    return EvalResult(
        out_dir / f"{cfg.name}.json",
        out_dir / f"{cfg.name}.md",
        len(part.records),
        new,
        time.time() - t0,
        summary,
    )


def _run(
    cfg: EvalConfig,
    limit: int | None,
    part: Partial,
    partial_path: Path,
    progress: bool,
    max_new: int | None,
    generator: Any,
    t0: float,
    only: set[str],
    reverse: bool = False,
) -> int:
    # every question file is read and checked before any model loads
    plan = [(ds, load_questions(ds, cfg.seed, limit)) for ds in cfg.datasets if ds.name in only]
    if reverse:  # last question first: a second process (own --results-dir) fills the run from the other end
        plan = [(ds, exs[::-1]) for ds, exs in plan]
    total = sum(len(exs) * len(cfg.settings_for(ds)) for ds, exs in plan)
    done = sum(
        1
        for ds, exs in plan
        for ex in exs
        for s, b in cfg.settings_for(ds)
        if record_key(ds.name, ex.id, s, b) in part.records
    )
    if done == total:
        return 0
    run = _Runner(cfg, generator)
    writer = PartialWriter(partial_path)
    session = {"index": len(part.sessions), "started_at": t0, "limit": limit, "pid": os.getpid()}
    writer.write({"session": session})
    part.sessions.append(session)
    from tqdm import tqdm

    bar = tqdm(total=total, initial=done, unit="answer", desc=cfg.name, disable=not progress, file=sys.stderr)
    new = 0
    try:
        for ds, exs in plan:
            settings = cfg.settings_for(ds)
            setup: Setup | None = None
            for ex in exs:
                todo = [(s, b) for s, b in settings if record_key(ds.name, ex.id, s, b) not in part.records]
                if not todo:
                    continue
                setup = setup or run.setup(ds)
                if setup.generator is not None:
                    setup.generator.clear()
                retrieved: Retrieved | None = None
                retrieve_ms, retrieval = 0.0, {}
                for s, b in todo:
                    if b is None:  # the llama-index baseline: no budget
                        rec = llamaindex_record(cfg, setup, ds, ex)
                    else:
                        if retrieved is None:
                            t = time.perf_counter()
                            retrieved = setup.engine.retrieve(ex.question)
                            retrieve_ms = (time.perf_counter() - t) * 1000
                            retrieval = retrieval_scores(ranked_doc_ids(retrieved), ex, cfg.recall_k)
                        sel = run.selector(s, setup.engine.counter)
                        rec = ask_record(cfg, setup, sel, ds, ex, s, b, retrieved, retrieve_ms, retrieval)
                    rec["session"] = session["index"]
                    rec["finished_at"] = round(time.time(), 3)
                    writer.write(rec)
                    part.records[rec["key"]] = rec
                    new += 1
                    bar.update(1)
                    if max_new is not None and new >= max_new:
                        return new
    finally:
        bar.close()
        writer.close()
    return new


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragengine eval", description=__doc__.split("\n")[0] if __doc__ else None)
    add_eval_arguments(p)
    return p


def run_from_args(args: argparse.Namespace) -> int:
    """Run `ragengine eval` from parsed arguments; prints where the report went."""
    res = run_eval(
        args.config,
        args.limit,
        results_dir=args.results_dir,
        fresh=args.fresh,
        report_only=args.report_only,
        progress=not args.no_progress,
        max_new_records=args.max_new_records,
        datasets=args.dataset,
        reverse=args.reverse,
    )
    print(f"{res.records} records ({res.new_records} new) in {res.seconds:.1f} s")
    print(f"wrote {res.md_path} and {res.json_path}")
    if args.pack:
        print(f"packed the records into {pack_partial(args.config, args.results_dir)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m ragengine.evaluation.harness --config ...`; errors print one line and exit 2."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return run_from_args(args)
    except RagEngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
