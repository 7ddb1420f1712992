"""The online commands: ``index``, ``cluster``, ``ask``, ``search`` and ``info``, through the public API only."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragengine.errors import InvalidInput, RagEngineError
from ragengine.jsonl import iter_json_lines

DEFAULT_BUDGET = 256  # half the tokens of 512, and it scored higher with SmolLM2 in the accuracy-per-token report


def _engine(args: argparse.Namespace) -> Any:
    from ragengine import Engine, EngineConfig

    opts: dict[str, Any] = {}
    if args.reader and args.generator in (None, "llm"):
        args.generator, opts = "llm", {"reader": args.reader}
    if args.generator == "openai":
        opts = {"base_url": args.base_url, "model": args.model}
        if args.tokenizer:
            opts["tokenizer"] = args.tokenizer
    if args.copy_span:
        if args.generator not in (None, "llm"):
            raise InvalidInput(f"--copy-span constrains the local reader (--generator llm), not {args.generator!r}")
        args.generator, opts = "llm", {**opts, "copy_span": True}
    strategy = args.strategy or ("evidence" if args.evidence == "auto" else "greedy")
    config = EngineConfig(
        strategy=strategy,
        retrieval=args.retrieval,
        candidates=args.candidates,
        reranker=args.reranker,
        clusters=args.clusters,
        rewrite=args.rewrite,
        cache=args.cache == "on",
        max_new_tokens=args.max_new_tokens,
        abstain_below=args.abstain_below,
    )
    return Engine.from_index(
        args.name, root=args.root, store=args.store, generator=args.generator, config=config, generator_options=opts
    )


@dataclass(frozen=True)
class _NotJson:
    why: str


def _read_questions(path: str) -> Iterator[tuple[int, str, str | None, str]]:
    """``(line, id, question or None, why not)`` per non-blank line: a bad line is reported, never fatal here."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"{path}: no such questions file")
    try:  # read whole before any is answered, so a bad byte stops the batch before it starts
        records = list(iter_json_lines(p, lambda n, msg: _NotJson(f"not valid JSON ({msg})")))
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path}: not UTF-8 text; convert it with iconv -t UTF-8") from e
    for lineno, rec in records:
        qid = str(rec.get("id", lineno)) if isinstance(rec, dict) else str(lineno)
        if isinstance(rec, _NotJson):
            yield lineno, qid, None, rec.why
        elif not isinstance(rec, dict) or not isinstance(rec.get("question"), str):
            yield lineno, qid, None, "each line needs a string field 'question'"
        elif not rec["question"].strip():
            yield lineno, qid, None, "the question is blank"
        else:
            yield lineno, qid, rec["question"], ""


def _search_items(path: str) -> Iterator[tuple[str, str]]:
    """Queries of a ``--questions`` file; the first bad line stops, naming its line and id."""
    for lineno, qid, q, why in _read_questions(path):
        if q is None:
            raise InvalidInput(f"{path}:{lineno} (id {qid}): {why}")
        yield qid, q


def _ask_batch(args: argparse.Namespace, engine: Any, budget: Any) -> int:
    """Answer every line of ``--questions``; a bad line stops the batch naming its line and id, or
    with ``--on-error skip`` prints an error object in its place (output stays aligned with ids)."""
    from tqdm import tqdm

    failed = 0
    items = list(_read_questions(args.questions))
    for lineno, qid, q, why in tqdm(items, desc="questions", unit="q", file=sys.stderr):
        ans = None
        if q is not None:
            try:
                ans = engine.ask(q, budget)
            except RagEngineError as e:
                why = str(e)
        if ans is None:
            where = f"{args.questions}:{lineno} (id {qid})"
            if args.on_error == "stop":
                raise InvalidInput(f"{where}: {why}; pass --on-error skip to answer the other lines")
            failed += 1
            print(f"warning: {where}: {why}", file=sys.stderr)
            if args.json:
                print(json.dumps({"id": qid, "line": lineno, "error": why}, ensure_ascii=False), flush=True)
            continue
        if args.json:
            record = {"id": qid, **ans.to_dict(), "strategy": ans.trace.get("strategy")}
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            _print_answer(ans)
            print()
    return 1 if failed else 0


def _print_answer(ans: Any) -> None:
    print(f"Q: {ans.question}")
    print(f"A: {ans.text}")
    sel = ans.trace.get("selection", {})
    reason, stats = sel.get("reason"), sel.get("stats", {})
    if reason:
        print(f"   note: {reason}")
    print(f"   spent {sel.get('context_tokens', 0)} of {sel.get('context_budget', 0)} context tokens")
    if "sentences_chosen" in stats:
        saved = f", stopped early: {stats['tokens_saved']} tokens saved" if stats.get("stopped") == "adaptive" else ""
        enough = "" if stats.get("sufficient") else "; the evidence looks insufficient"
        print(
            f"   evidence: {stats['sentences_chosen']} of {stats['sentences_offered']} sentences, "
            f"P(answer in context) {stats.get('value')}{saved}{enough}"
        )
    path, cache = ans.trace.get("path"), ans.trace.get("cache", {})
    if path in ("cache", "cache_chunks"):
        print(
            f"   path: {path} (cached question {cache.get('cached_question')!r}, similarity {cache.get('similarity')})"
        )
    rewrite = ans.trace.get("retrieval", {}).get("rewrite")
    if rewrite:
        print(f"   rewrite ({rewrite.get('method')}): {rewrite.get('queries')}")
    print(f"Citations ({len(ans.citations)}):")
    for i, c in enumerate(ans.citations, 1):
        snippet = c.text.replace("\n", " ")
        print(
            f"  [{i}] {', '.join(c.sources)} ({c.granularity}, {c.n_tokens} tok): "
            f"{snippet[:100]}{'...' if len(snippet) > 100 else ''}"
        )
    print(f"Ledger (budget {ans.budget.context_tokens} context tokens, strategy {ans.trace.get('strategy')}):")
    print("  " + ans.cost.table().replace("\n", "\n  "))


def cmd_index(args: argparse.Namespace) -> int:
    from ragengine import BuildReport, Engine, LoadReport

    report = LoadReport(quiet=True)  # printed below, once per file
    built = BuildReport()
    t = time.perf_counter()
    manifest = Engine.build_index(
        args.paths,
        args.name,
        root=args.root,
        store=args.store,
        ray=args.ray,
        embedder=args.embedder,
        tokenizer=args.tokenizer,
        chunk_size=args.chunk_size,
        chunk_overlap=args.chunk_overlap,
        dense_kind=args.dense,
        text_field=args.text_field,
        progress=True,
        report=report,
        clusters=args.clusters,
        include=args.include,
        exclude=args.exclude,
        rebuild=args.rebuild,
        build_report=built,
        relative_ids=args.doc_ids == "relative",
    )
    return _print_build(args, "indexed", manifest.name, manifest.n_documents, manifest.n_chunks, built, report, t)


def cmd_add(args: argparse.Namespace) -> int:
    from ragengine import Engine, LoadReport

    report = LoadReport(quiet=True)
    t = time.perf_counter()
    engine = Engine.from_index(args.name, root=args.root, store=args.store, generator="none")
    built = engine.add_documents(
        args.paths,
        text_field=args.text_field,
        include=args.include,
        exclude=args.exclude,
        progress=True,
        report=report,
        relative_ids=None if args.doc_ids is None else args.doc_ids == "relative",
    )
    m = engine.manifest
    return _print_build(args, "updated", m.name, m.n_documents, m.n_chunks, built, report, t)


def cmd_remove(args: argparse.Namespace) -> int:
    from ragengine import Engine

    t = time.perf_counter()
    engine = Engine.from_index(args.name, root=args.root, store=args.store, generator="none")
    built = engine.remove_documents(args.doc_ids)
    m = engine.manifest
    return _print_build(args, "updated", m.name, m.n_documents, m.n_chunks, built, None, t)


def _print_build(
    args: argparse.Namespace, verb: str, name: str, docs: int, chunks: int, built: Any, report: Any, t0: float
) -> int:
    """One summary of a build or update: documents and chunks held, what was new, reused and encoded."""
    secs = time.perf_counter() - t0
    skipped = list(report.skipped) if report is not None else []
    for path, why in skipped:
        print(f"warning: skipped {path}: {why}", file=sys.stderr)
    for note in built.notes:
        print(f"note: {note}", file=sys.stderr)
    out = {
        "name": name,
        "documents": docs,
        "chunks": chunks,
        "seconds": round(secs, 2),
        "chunks_per_s": round(built.chunks_embedded / secs, 1) if secs > 0 else 0.0,
        **built.to_dict(),
        "skipped": [p for p, _ in skipped],
    }
    if args.json:
        print(json.dumps(out))
        return 0
    print(
        f"{verb} {name!r}: {docs} documents in {chunks} chunks in {out['seconds']} s; "
        f"documents {built.documents_new} new, {built.documents_changed} changed, "
        f"{built.documents_unchanged} unchanged, {built.documents_removed} removed; "
        f"chunks encoded {built.chunks_embedded}, reused {built.chunks_reused}"
    )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from ragengine import Budget

    if (args.question is None) == (args.questions is None):
        raise InvalidInput("give either a question or --questions FILE.jsonl")
    budget = Budget(context_tokens=_context_budget(args), total_tokens=args.total_budget)
    engine = _engine(args)
    if args.question is None:
        return _ask_batch(args, engine, budget)
    ans = engine.ask(args.question, budget)
    if args.json:
        print(json.dumps({**ans.to_dict(), "strategy": ans.trace.get("strategy")}, ensure_ascii=False))
    else:
        _print_answer(ans)
    return 0


def _context_budget(args: argparse.Namespace) -> int:
    """``--budget``, or with only ``--total-budget`` given, the total (the context shrinks to fit it)."""
    if args.budget is not None:
        return int(args.budget)
    return int(args.total_budget) if args.total_budget is not None else DEFAULT_BUDGET


def cmd_cluster(args: argparse.Namespace) -> int:
    from ragengine import Engine

    gen = "llm" if args.summary == "abstractive" else "none"
    engine = Engine.from_index(args.name, root=args.root, store=args.store, generator=gen)
    opts: dict[str, Any] = {"seed": args.seed, "summary": args.summary, "summary_cap_tokens": args.summary_tokens}
    if args.n_clusters is not None:
        opts["n_clusters"] = args.n_clusters
    if args.summary == "abstractive":
        opts["generator"] = engine.generator
    t = time.perf_counter()
    info = engine.add_clusters(**opts)
    out = {
        "name": engine.folder.name,
        "clusters": info["k"],
        "chunks": info["n_chunks"],
        "sentences": info["n_sentences"],
        "summary": info["summary"],
        "summary_llm_tokens": info["indexing"].get("tokens_in", 0) + info["indexing"].get("tokens_out", 0),
        "seconds": round(time.perf_counter() - t, 2),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"clustered {out['chunks']} chunks of {out['name']!r} into {out['clusters']} clusters "
            f"({out['summary']} summaries, {out['summary_llm_tokens']} LLM tokens) in {out['seconds']} s"
        )
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from ragengine import Engine

    if not args.store:
        print(
            "error: give the database with --store postgresql://USER@HOST:PORT/DB (or $RAGENGINE_STORE)",
            file=sys.stderr,
        )
        return 2
    t = time.perf_counter()
    m = Engine.push_index(args.name, args.store, root=args.root, name=args.target or "")
    print(
        f"pushed {m.name}: {m.n_documents} documents, {m.n_chunks} chunks, version {m.version} "
        f"({time.perf_counter() - t:.1f} s)"
    )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ragengine import Engine

    engine = Engine.from_index(args.name, root=args.root, store=args.store, generator="none")
    if args.documents:
        for doc_id, n in engine.documents().items():
            print(f"{doc_id}\t{n}")
        return 0
    info = engine.info()
    info.pop("files", None)
    print(json.dumps(info, indent=2))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from ragengine import Engine, EngineConfig

    if (args.query is None) == (args.questions is None):
        raise InvalidInput("give either a query or --questions FILE.jsonl")
    if args.k <= 0:
        raise InvalidInput(f"-k must be > 0, got {args.k}")
    config = EngineConfig(retrieval=args.retrieval, candidates=args.k, reranker=args.reranker)
    engine = Engine.from_index(args.name, root=args.root, store=args.store, generator="none", config=config)
    items = [("0", args.query)] if args.query is not None else list(_search_items(args.questions))
    for qid, q in items:
        got = engine.retrieve(q)
        hits = [
            {
                "rank": c.rank if i == c.rank else i,
                "chunk_id": c.chunk.chunk_id,
                "doc_id": c.chunk.doc_id,
                "score": c.score,
                "scores": c.scores,
            }
            for i, c in enumerate(got.candidates)
        ]
        if args.json:
            print(json.dumps({"id": qid, "query": q, "results": hits}, ensure_ascii=False), flush=True)
        else:
            print(f"Q: {q}")
            for h in hits:
                print(f"  {h['rank']:>4}  {h['score']:.4f}  {h['doc_id']}  ({h['chunk_id']})")
    return 0
