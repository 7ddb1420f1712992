"""`ragengine eval --config eval/configs/NAME.toml`: datasets x strategies x budgets, resumable.

For each question the candidates are retrieved once and reused by every strategy and budget
(``Engine.retrieve`` + ``ask(retrieved=...)``); each (question, strategy, budget) gives one
record, appended to ``eval/results/NAME.partial.jsonl`` as soon as it is scored. A crashed or
interrupted run resumes by skipping the records already there (a half-written last line is
dropped), so nothing finished is lost; the final ``NAME.json``/``NAME.md`` and plots are written
from all records. Models load once per run: one embedder, one generator, one index per corpus.

Identical prompts are generated once per question (temperature 0 is deterministic): when two
strategies select the same chunks at a budget, the second reuses the first's answer and its
measured time and tokens.

>>> run_eval("eval/configs/smoke.toml", limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# llama.cpp's OpenMP threads busy-wait by default: on a shared 2-core machine that made one
# answer take 30-70 s instead of 5 s. Must be set before llama_cpp loads libgomp.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ragengine.budget import Budget
from ragengine.errors import InvalidInput, RagEngineError
from ragengine.evaluation import metrics as M
from ragengine.evaluation.config import ConfigError, DatasetSpec, EvalConfig, load_config
from ragengine.evaluation.datasets import (
    DatasetError,
    QAExample,
    iter_beir_corpus,
    iter_hipporag_corpus,
    iter_squad_paragraphs,
    load_beir_queries,
    load_hipporag,
    load_squad,
)
from ragengine.generate.prompt import format_context
from ragengine.index.store import TERM_ENCODER
from ragengine.rerank.term_weights import DEFAULT_WEIGHTS, sha256_of
from ragengine.types import Document, Generation, Retrieved

log = logging.getLogger(__name__)
# Record fields that measure time: they differ between two runs of the same config.
TIMING_FIELDS = ("latency_ms", "finished_at", "session", "generation_reused", "stage_ms")


# ---------------------------------------------------------------- generators


class CachingGenerator:
    """Wraps a generator: the same (question, contexts, max_tokens) is generated once until ``clear()``.

    ``last_ms`` is the measured time of the generation behind the last answer (also when reused),
    ``last_reused`` says whether it was reused.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.tokenizer = getattr(inner, "tokenizer", "")
        self._cache: dict[tuple[str, tuple[str, ...], int | None], tuple[Generation, float]] = {}
        self.last_ms = 0.0
        self.last_reused = False
        self.generations = 0
        self.reused = 0

    def load(self) -> Any:
        load = getattr(self.inner, "load", None)
        return load() if callable(load) else None

    def prompt_overhead(self, question: str) -> int:
        return int(self.inner.prompt_overhead(question))

    def clear(self) -> None:
        self._cache.clear()

    def generate(self, question: str, contexts: Sequence[str], *, max_tokens: int | None = None) -> Generation:
        key = (question, tuple(contexts), max_tokens)
        hit = self._cache.get(key)
        if hit is not None:
            self.reused += 1
            self.last_reused, self.last_ms = True, hit[1]
            return hit[0]
        t = time.perf_counter()
        gen = self.inner.generate(question, contexts, max_tokens=max_tokens)
        ms = (time.perf_counter() - t) * 1000
        self.generations += 1
        self._cache[key] = (gen, ms)
        self.last_reused, self.last_ms = False, ms
        return gen


def make_generator(name: str, cfg: EvalConfig) -> Any:
    """The generator a config names (``echo`` is the deterministic test fake); None for ``none``."""
    if name == "none":
        return None
    if name == "echo":
        from ragengine.testing import EchoGenerator

        return EchoGenerator()
    from ragengine.generate.base import get_generator

    opts = dict(cfg.generator_options) if name == "llm" else {}
    if name == "llm":
        opts.setdefault("max_tokens", cfg.max_new_tokens)
        opts.setdefault("seed", cfg.seed)
    return get_generator(name, **opts)


# ---------------------------------------------------------------- datasets and indexes


def corpus_documents(ds: DatasetSpec) -> Iterator[Document]:
    """The corpus of a dataset as Documents whose ids are the ids its gold labels use."""
    if ds.kind in ("squad", "squad2"):
        src = ds.corpus or ds.path
        for doc_id, title, text in iter_squad_paragraphs(src):
            yield Document(doc_id, text, {"title": title})
    elif ds.kind == "beir":
        for doc_id, title, text in iter_beir_corpus(ds.corpus or ds.path):
            yield Document(doc_id, f"{title}. {text}" if title else text, {"title": title})
    else:
        src = ds.corpus or ds.path.with_name(f"{ds.path.stem}_corpus.json")
        for doc_id, title, text in iter_hipporag_corpus(src):
            yield Document(doc_id, text, {"title": title})


def corpus_files(ds: DatasetSpec) -> list[Path]:
    if ds.kind == "beir":
        return [Path(ds.corpus or ds.path) / "corpus.jsonl"]
    if ds.kind in ("hotpotqa", "musique"):
        return [ds.corpus or ds.path.with_name(f"{ds.path.stem}_corpus.json")]
    return [ds.corpus or ds.path]


def index_name(cfg: EvalConfig, ds: DatasetSpec) -> str:
    """``eval-<kind>-<hash>``: the hash covers the corpus bytes and the index settings."""
    h = hashlib.sha256()
    for f in corpus_files(ds):
        try:
            h.update(f.read_bytes())
        except OSError as e:
            raise DatasetError(f"{f}: cannot read the corpus file: {e}") from e
    settings = cfg.index.settings()
    if cfg.index.embedder in ("minilm-onnx-int8", TERM_ENCODER):
        # the build writes TILDE term weights too: an index from other weights is another index
        settings["term_weights"] = sha256_of(DEFAULT_WEIGHTS)
    h.update(json.dumps(settings, sort_keys=True).encode())
    return f"eval-{ds.kind}-{h.hexdigest()[:12]}"


def ensure_index(cfg: EvalConfig, ds: DatasetSpec, embedder: Any) -> Path:
    """Build the dataset's eval index unless one with the same corpus and settings exists."""
    from ragengine import Engine

    name = index_name(cfg, ds)
    folder = Path(cfg.index.root) / name
    if (folder / "manifest.json").is_file():
        return folder
    log.warning("building eval index %s for dataset %s", folder, ds.name)
    docs = list(corpus_documents(ds))
    Engine.build_index(
        docs,
        name,
        root=cfg.index.root,
        embedder=embedder,
        tokenizer=cfg.index.tokenizer,
        chunk_size=cfg.index.chunk_size,
        chunk_overlap=cfg.index.chunk_overlap,
        dense_kind=cfg.index.dense,
        progress=True,
        clusters=cfg.index.clusters,
    )
    return folder


def load_questions(ds: DatasetSpec, seed: int = 0, limit: int | None = None) -> list[QAExample]:
    """The dataset's questions: all, the first ``ds.limit``, or a seeded sample of ``ds.sample``.

    A sample keeps the order of one seeded permutation, so a smaller sample (or ``limit``, applied
    last) is a subset of a larger one with the same seed.
    """
    if ds.kind in ("squad", "squad2"):
        exs = load_squad(ds.path, ds.articles)
    elif ds.kind == "beir":
        exs = load_beir_queries(ds.path, ds.split)
    else:
        exs = load_hipporag(ds.path, ds.corpus)
    if ds.kind == "squad":
        unanswerable = [e.id for e in exs if e.unanswerable]
        if unanswerable:
            raise DatasetError(
                f"{ds.path}: question {unanswerable[0]!r} is unanswerable (SQuAD v2.0); use kind = 'squad2'"
            )
    if ds.sample is not None:
        order = random.Random(seed).sample(range(len(exs)), len(exs))
        exs = [exs[i] for i in order[: ds.sample]]
    elif ds.limit is not None:
        exs = exs[: ds.limit]
    if limit is not None:
        exs = exs[:limit]
    return exs


# ---------------------------------------------------------------- scoring


def retrieval_scores(ranked_doc_ids: Sequence[str], ex: QAExample, recall_k: Sequence[int]) -> dict[str, float]:
    """nDCG@10 and recall@k of a ranking (doc ids, best first, repeats dropped) against the gold docs."""
    ranked = list(dict.fromkeys(ranked_doc_ids))
    qrels = ex.meta.get("qrels") or {d: 1 for d in ex.gold_doc_ids}
    relevant = [d for d, g in qrels.items() if g > 0]
    if not relevant:
        return {}
    out = {"ndcg@10": M.ndcg_at_k(ranked, qrels, 10)}
    for k in recall_k:
        out[f"recall@{k}"] = M.recall_at_k(ranked, relevant, k)
    return out


def answer_scores(
    kind: str, ex: QAExample, answer: str, context: str, doc_ids: Sequence[str], answered: bool
) -> dict[str, float]:
    """Every score that applies to this question; answer scores only when a generator answered."""
    s: dict[str, float] = {}
    if ex.answers:
        s["gold_in_context"] = M.answer_in_context(context, ex.answers)
        if answered:
            s["answer_accuracy"] = M.answer_accuracy(answer, ex.answers)
            s["f1"] = M.f1(answer, ex.answers)
            s["em"] = M.exact_match(answer, ex.answers)
    gold = set(ex.gold_doc_ids)
    if gold:
        chosen = set(doc_ids)
        s["gold_doc_in_context"] = float(bool(gold & chosen))
        if kind in ("hotpotqa", "musique"):
            s["all_supporting_in_context"] = M.all_supporting_in_context(chosen, gold)
        if kind == "beir":
            s["recall_in_context"] = len(gold & chosen) / len(gold)
    if kind == "squad2" and answered:
        s["abstention_correct"] = M.abstention_correct(answer, ex.unanswerable)
        s["abstained"] = float(M.is_abstention(answer))
    return s


# ---------------------------------------------------------------- the partial file


@dataclass
class Partial:
    """Records already written for this config (key -> record) and the run sessions."""

    records: dict[str, dict[str, Any]]
    sessions: list[dict[str, Any]]


def record_key(dataset: str, qid: str, strategy: str, budget: int | None) -> str:
    return f"{dataset}|{qid}|{strategy}|{budget if budget is not None else '-'}"


def read_partial(path: Path, cfg: EvalConfig) -> Partial:
    """Read ``NAME.partial.jsonl``; a truncated last line (a crash mid-write) is dropped with a warning."""
    part = Partial({}, [])
    prints = {ds.name: cfg.fingerprint(ds) for ds in cfg.datasets}
    if not path.is_file():
        return part
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            if i == len(lines):
                log.warning("%s: dropping a half-written last line (%d chars)", path, len(line))
                continue
            raise ConfigError(
                f"{path}: line {i} is not valid JSON ({e.msg}); delete the line or rerun with --fresh"
            ) from e
        if "session" in obj and "key" not in obj:
            part.sessions.append(obj["session"])
            continue
        want = prints.get(obj.get("dataset", ""))
        if want is None:  # a dataset no longer in the config: kept in the file, left out of the report
            continue
        if obj.get("fingerprint") != want:
            raise ConfigError(
                f"{path}: line {i} ({obj.get('key')}) was written under other settings (fingerprint "
                f"{obj.get('fingerprint')} != {want}: the generator, prompt, index, strategy options or seed "
                "changed); restore them, or rerun with --fresh to start over"
            )
        part.records[obj["key"]] = obj
    return part


class _Writer:
    """Appends records, one JSON line each, flushed and synced so a crash loses at most the line being written.

    Holds an exclusive lock on the file while open, so two runs of one config cannot interleave.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = path.open("a", encoding="utf-8")
        try:
            import fcntl

            fcntl.flock(self.f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: no lock
            pass
        except OSError as e:
            self.f.close()
            raise ConfigError(
                f"{path}: another `ragengine eval` run of this config is writing it; wait for it or stop it first"
            ) from e
        if self.f.tell() > 0:  # cut a half-written last line left by a crash
            data = path.read_bytes()
            if not data.endswith(b"\n"):
                self.f.truncate(data.rfind(b"\n") + 1)
                self.f.seek(0, os.SEEK_END)

    def write(self, obj: dict[str, Any]) -> None:
        self.f.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.f.flush()
        os.fsync(self.f.fileno())

    def close(self) -> None:
        self.f.close()


# ---------------------------------------------------------------- the run


@dataclass
class _Setup:
    engine: Any
    generator: CachingGenerator | None
    llamaindex: Any


class _Runner:
    def __init__(self, cfg: EvalConfig, generator: Any = None) -> None:
        self.cfg = cfg
        self._generator_override = generator
        self._embedders: dict[str, Any] = {}
        self._generators: dict[str, CachingGenerator | None] = {}
        self._setups: dict[tuple[str, str], _Setup] = {}
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

    def setup(self, ds: DatasetSpec) -> _Setup:
        from ragengine import Engine, EngineConfig

        folder = ensure_index(self.cfg, ds, self.embedder())
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
            self._setups[key] = _Setup(engine, gen, li)
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

    def selector(self, strategy: str) -> Any:
        if strategy == "topk":
            from ragengine.evaluation.baselines import TopKSelector

            return TopKSelector()
        from ragengine.select.registry import get_selector

        return get_selector(strategy, **self.cfg.strategy_options.get(strategy, {}))


def _settings(cfg: EvalConfig, ds: DatasetSpec) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    for s in cfg.strategies_for(ds):
        if s == "llamaindex":
            out.append((s, None))
        else:
            out.extend((s, b) for b in cfg.budgets_for(ds))
    return out


def _stages(ledger: Any) -> dict[str, dict[str, Any]]:
    return {
        k: {"tokens_in": v.tokens_in, "tokens_out": v.tokens_out, "llm_calls": v.llm_calls, "ms": round(v.ms, 3)}
        for k, v in ledger.stages.items()
    }


def _ranked_doc_ids(retrieved: Retrieved) -> list[str]:
    return [c.chunk.doc_id for c in retrieved.candidates]


def _base_record(cfg: EvalConfig, ds: DatasetSpec, ex: QAExample, strategy: str, budget: int | None) -> dict[str, Any]:
    return {
        "key": record_key(ds.name, ex.id, strategy, budget),
        "fingerprint": cfg.fingerprint(ds),
        "dataset": ds.name,
        "kind": ds.kind,
        "id": ex.id,
        "question": ex.question,
        "golds": list(ex.answers),
        "unanswerable": ex.unanswerable,
        "strategy": strategy,
        "budget": budget,
    }


def _ask_record(
    run: _Runner, setup: _Setup, ds: DatasetSpec, ex: QAExample, strategy: str, budget: int, retrieved: Retrieved,
    retrieve_ms: float, retrieval: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    cfg = run.cfg
    ans = setup.engine.ask(
        ex.question, Budget(context_tokens=budget), selector=run.selector(strategy), retrieved=retrieved
    )
    stages = _stages(ans.cost)
    stages["retrieve"]["ms"] = round(retrieve_ms, 3)
    gen = setup.generator
    reused = False
    if gen is not None and "generate" in stages:
        stages["generate"]["ms"] = round(gen.last_ms, 3)
        reused = gen.last_reused
    answered = gen is not None  # a "[no answer] ..." reply, when nothing fits, is scored like any answer
    context = format_context([c.text for c in ans.citations])
    doc_ids = [c.doc_id for c in ans.citations]
    g = stages.get("generate", {})
    return {
        **_base_record(cfg, ds, ex, strategy, budget),
        "context_tokens": ans.cost.context_tokens,
        "prompt_tokens": int(g.get("tokens_in", 0)),
        "completion_tokens": int(g.get("tokens_out", 0)),
        "total_tokens": ans.cost.total_tokens,
        "stages": stages,
        "answer": ans.text,
        "n_chunks": len(ans.citations),
        "doc_ids": doc_ids,
        "scores": answer_scores(ds.kind, ex, ans.text, context, doc_ids, answered),
        "retrieval": retrieval,
        "latency_ms": round(sum(s["ms"] for s in stages.values()), 3),
        "generation_reused": reused,
    }


def _llamaindex_record(run: _Runner, setup: _Setup, ds: DatasetSpec, ex: QAExample) -> dict[str, Any]:
    res = setup.llamaindex.query(ex.question)
    stages = {"retrieve": {"tokens_in": 0, "tokens_out": 0, "llm_calls": 0, "ms": round(res.retrieve_ms, 3)}}
    answered = setup.generator is not None
    if answered:
        stages["generate"] = {
            "tokens_in": res.prompt_tokens,
            "tokens_out": res.completion_tokens,
            "llm_calls": res.llm_calls,
            "ms": round(res.generate_ms, 3),
        }
    return {
        **_base_record(run.cfg, ds, ex, "llamaindex", None),
        "context_tokens": res.context_tokens,
        "prompt_tokens": res.prompt_tokens,
        "completion_tokens": res.completion_tokens,
        "total_tokens": res.prompt_tokens + res.completion_tokens,
        "stages": stages,
        "answer": res.answer,
        "n_chunks": len(res.chunk_ids),
        "doc_ids": res.doc_ids,
        "scores": answer_scores(ds.kind, ex, res.answer, res.context, res.doc_ids, answered),
        "retrieval": retrieval_scores(res.doc_ids, ex, run.cfg.recall_k),
        "latency_ms": round(res.retrieve_ms + res.generate_ms, 3),
        "generation_reused": False,
    }


@dataclass
class EvalResult:
    """What ``run_eval`` wrote and how long this session took."""

    json_path: Path
    md_path: Path
    records: int
    new_records: int
    seconds: float
    summary: dict[str, Any]


def results_paths(cfg: EvalConfig, results_dir: str | Path | None = None) -> tuple[Path, Path]:
    out = Path(results_dir) if results_dir is not None else Path(cfg.results_dir)
    return out, out / f"{cfg.name}.partial.jsonl"


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
    packed = partial_path.with_name(partial_path.name + ".gz")
    if not fresh and not partial_path.exists() and packed.is_file():
        # a run cut short on another machine: its records were committed gzipped (see pack_partial)
        import gzip

        partial_path.write_bytes(gzip.decompress(packed.read_bytes()))
        log.warning("resuming from %s", packed)
    part = read_partial(partial_path, cfg)
    t0 = time.time()
    new = 0
    if not report_only:
        only = set(datasets) if datasets else set(names)
        new = _run(cfg, limit, part, partial_path, progress, max_new_records, generator, t0, only, reverse)
    from ragengine.evaluation.report import write_report

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


def pack_partial(config: str | Path | EvalConfig, results_dir: str | Path | None = None) -> Path:
    """Gzip ``NAME.partial.jsonl`` beside it, so an unfinished run can be committed and resumed elsewhere.

    ``run_eval`` unpacks ``NAME.partial.jsonl.gz`` when ``NAME.partial.jsonl`` is missing.
    """
    import gzip

    cfg = config if isinstance(config, EvalConfig) else load_config(config)
    _, partial_path = results_paths(cfg, results_dir)
    if not partial_path.is_file():
        raise InvalidInput(f"{partial_path}: no partial records to pack")
    packed = partial_path.with_name(partial_path.name + ".gz")
    packed.write_bytes(gzip.compress(partial_path.read_bytes(), compresslevel=9, mtime=0))
    return packed


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
    total = sum(len(exs) * len(_settings(cfg, ds)) for ds, exs in plan)
    done = sum(
        1
        for ds, exs in plan
        for ex in exs
        for s, b in _settings(cfg, ds)
        if record_key(ds.name, ex.id, s, b) in part.records
    )
    if done == total:
        return 0
    run = _Runner(cfg, generator)
    writer = _Writer(partial_path)
    session = {"index": len(part.sessions), "started_at": t0, "limit": limit, "pid": os.getpid()}
    writer.write({"session": session})
    part.sessions.append(session)
    from tqdm import tqdm

    bar = tqdm(total=total, initial=done, unit="answer", desc=cfg.name, disable=not progress, file=sys.stderr)
    new = 0
    try:
        for ds, exs in plan:
            settings = _settings(cfg, ds)
            setup: _Setup | None = None
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
                        rec = _llamaindex_record(run, setup, ds, ex)
                    else:
                        if retrieved is None:
                            t = time.perf_counter()
                            retrieved = setup.engine.retrieve(ex.question)
                            retrieve_ms = (time.perf_counter() - t) * 1000
                            retrieval = retrieval_scores(_ranked_doc_ids(retrieved), ex, cfg.recall_k)
                        rec = _ask_record(run, setup, ds, ex, s, b, retrieved, retrieve_ms, retrieval)
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
