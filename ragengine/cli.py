"""`ragengine index|ask|info|search|eval|ui`: the command line. Calls only the public API.

Errors print one line (``error: ...``) on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragengine.errors import InvalidInput, RagEngineError

GENERATOR_CHOICES = ["llm", "openai", "extractive", "none"]
BENCHES = {
    "selection": "ragengine.evaluation.selection_bench",
    "selector-tuning": "ragengine.evaluation.selector_tuning",
    "retrieval": "ragengine.evaluation.retrieval_bench",
    "crag-rewrite-cache": "ragengine.evaluation.crag_bench",
}
STRATEGY_CHOICES = ["greedy", "dos", "mmr", "knapsack", "mcts"]


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=None, help="folder holding indexes (default: ./indexes or $RAGENGINE_INDEXES)")
    p.add_argument("--budget", type=int, default=512, help="context tokens (hard cap), default 512")
    p.add_argument("--total-budget", type=int, default=None, help="cap on every LLM token of the question")
    p.add_argument(
        "--generator",
        choices=GENERATOR_CHOICES,
        default=None,
        help="llm (local SmolLM2), openai, extractive (no LLM), none (dry run); default: llm if installed",
    )
    p.add_argument("--strategy", choices=STRATEGY_CHOICES, default="greedy", help="how the budget is spent")
    p.add_argument("--retrieval", choices=["hybrid", "bm25", "dense"], default="hybrid")
    p.add_argument("--candidates", type=int, default=30, help="candidates offered to the selector")
    p.add_argument(
        "--reranker",
        choices=["auto", "none", "terms"],
        default="auto",
        help="term-matching re-rank (auto: when the index has term weights)",
    )
    p.add_argument(
        "--clusters",
        choices=["auto", "on", "off"],
        default="auto",
        help="CRAG cluster excerpts/members/summaries as candidates (auto: when the index has clusters)",
    )
    p.add_argument(
        "--rewrite",
        choices=["none", "prf", "llm"],
        default="none",
        help="query rewriting: prf (pseudo-relevance feedback, no LLM tokens) or llm (one generator call)",
    )
    p.add_argument(
        "--cache",
        choices=["on", "off"],
        default="off",
        help="semantic answer cache keyed to the index version (a repeated question costs no LLM tokens)",
    )
    p.add_argument("--base-url", default=None, help="openai generator: e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--model", default=None, help="openai generator: model name")
    p.add_argument("--tokenizer", default=None, help="openai generator: o200k_base, cl100k_base, smollm2-135m-instruct")
    p.add_argument("--json", action="store_true", help="print JSON (one object per question)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragengine", description="RAG under a token budget it never exceeds.")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build an index from files, folders, SQuAD JSON or a BEIR folder")
    p.add_argument("paths", nargs="+")
    p.add_argument("--name", required=True)
    p.add_argument("--root", default=None)
    p.add_argument("--chunk-size", type=int, default=128, help="tokens per chunk (generator tokenizer)")
    p.add_argument("--chunk-overlap", type=int, default=16)
    p.add_argument("--dense", choices=["flat", "ivf", "hnsw"], default="flat")
    p.add_argument("--embedder", default="minilm-onnx-int8", help="minilm-onnx-int8 | minilm-st-fp32")
    p.add_argument("--tokenizer", default="smollm2-135m-instruct")
    p.add_argument("--text-field", default="text", help="field holding the text in .jsonl records")
    p.add_argument("--clusters", action="store_true", help="also build CRAG clusters with extractive summaries")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("cluster", help="build (or rebuild) the CRAG clusters of an existing index")
    p.add_argument("name")
    p.add_argument("--root", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-clusters", type=int, default=None, help="default: round(sqrt(chunks))")
    p.add_argument("--summary", choices=["extractive", "abstractive"], default="extractive")
    p.add_argument("--summary-tokens", type=int, default=96, help="token cap of each cluster summary")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ask", help="answer a question (or a --questions FILE.jsonl batch)")
    p.add_argument("name", help="index name or folder")
    p.add_argument("question", nargs="?", default=None)
    p.add_argument("--questions", default=None, help="JSON lines with a 'question' field (optional 'id')")
    _add_engine_args(p)

    p = sub.add_parser("eval", help="run an eval config: datasets x strategies x budgets -> eval/results/NAME")
    from ragengine.evaluation.harness import add_eval_arguments

    add_eval_arguments(p)

    p = sub.add_parser("bench", help="run a benchmark that writes a report under eval/results/")
    p.add_argument("which", choices=sorted(BENCHES), help="which benchmark")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="its own options (see `ragengine bench NAME --help`)")

    p = sub.add_parser("ui", help="serve the Streamlit console on 127.0.0.1")
    p.add_argument("--index", default=None, help="index to open first")
    p.add_argument("--root", default=None)
    p.add_argument("--port", type=int, default=8501)

    p = sub.add_parser("search", help="ranked candidates (chunk_id, doc_id, score), no selection or generation")
    p.add_argument("name")
    p.add_argument("query", nargs="?", default=None)
    p.add_argument("--questions", default=None, help="JSON lines with a 'question' field (optional 'id')")
    p.add_argument("-k", type=int, default=100)
    p.add_argument("--root", default=None)
    p.add_argument("--retrieval", choices=["hybrid", "bm25", "dense"], default="hybrid")
    p.add_argument("--reranker", choices=["auto", "none", "terms"], default="auto")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("train-reranker", help="retrain the shipped term weights from ../shared/data and a seed")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of the trainer (--seed, --out, --data, ...)")

    p = sub.add_parser("info", help="show an index's manifest")
    p.add_argument("name")
    p.add_argument("--root", default=None)
    return parser


def _engine(args: argparse.Namespace) -> Any:
    from ragengine import Engine, EngineConfig

    opts: dict[str, Any] = {}
    if args.generator == "openai":
        opts = {"base_url": args.base_url, "model": args.model}
        if args.tokenizer:
            opts["tokenizer"] = args.tokenizer
    config = EngineConfig(
        strategy=args.strategy,
        retrieval=args.retrieval,
        candidates=args.candidates,
        reranker=args.reranker,
        clusters=args.clusters,
        rewrite=args.rewrite,
        cache=args.cache == "on",
    )
    return Engine.from_index(args.name, root=args.root, generator=args.generator, config=config, generator_options=opts)


def _read_questions(path: str) -> Iterator[tuple[str, str]]:
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"{path}: no such questions file")
    with p.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise InvalidInput(f"{path}:{lineno}: not valid JSON ({e.msg})") from e
            if not isinstance(rec, dict) or not isinstance(rec.get("question"), str):
                raise InvalidInput(f"{path}:{lineno}: each line needs a string field 'question'")
            yield str(rec.get("id", lineno)), rec["question"]


def _print_answer(ans: Any) -> None:
    print(f"Q: {ans.question}")
    print(f"A: {ans.text}")
    reason = ans.trace.get("selection", {}).get("reason")
    if reason:
        print(f"   note: {reason}")
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
    from ragengine import Engine
    from ragengine.ingest.loaders import LoadReport

    report = LoadReport()
    t = time.perf_counter()
    manifest = Engine.build_index(
        args.paths,
        args.name,
        root=args.root,
        embedder=args.embedder,
        tokenizer=args.tokenizer,
        chunk_size=args.chunk_size,
        chunk_overlap=args.chunk_overlap,
        dense_kind=args.dense,
        text_field=args.text_field,
        progress=True,
        report=report,
        clusters=args.clusters,
    )
    secs = time.perf_counter() - t
    for path, why in report.skipped:
        print(f"warning: skipped {path}: {why}", file=sys.stderr)
    out = {
        "name": manifest.name,
        "documents": manifest.n_documents,
        "chunks": manifest.n_chunks,
        "seconds": round(secs, 2),
        "chunks_per_s": round(manifest.n_chunks / secs, 1),
        "skipped": [p for p, _ in report.skipped],
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"indexed {out['documents']} documents into {out['chunks']} chunks as {manifest.name!r} "
            f"in {out['seconds']} s ({out['chunks_per_s']} chunks/s)"
        )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from ragengine import Budget

    if (args.question is None) == (args.questions is None):
        raise InvalidInput("give either a question or --questions FILE.jsonl")
    budget = Budget(context_tokens=args.budget, total_tokens=args.total_budget)
    engine = _engine(args)
    if args.question is not None:
        ans = engine.ask(args.question, budget)
        if args.json:
            print(json.dumps({**ans.to_dict(), "strategy": ans.trace.get("strategy")}, ensure_ascii=False))
        else:
            _print_answer(ans)
        return 0
    from tqdm import tqdm

    items = list(_read_questions(args.questions))
    for qid, q in tqdm(items, desc="questions", unit="q", file=sys.stderr):
        ans = engine.ask(q, budget)
        if args.json:
            print(
                json.dumps({"id": qid, **ans.to_dict(), "strategy": ans.trace.get("strategy")}, ensure_ascii=False),
                flush=True,
            )
        else:
            _print_answer(ans)
            print()
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    from ragengine import Engine

    gen = "llm" if args.summary == "abstractive" else "none"
    engine = Engine.from_index(args.name, root=args.root, generator=gen)
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


def cmd_info(args: argparse.Namespace) -> int:
    from ragengine import Engine

    info = Engine.from_index(args.name, root=args.root, generator="none").info()
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
    engine = Engine.from_index(args.name, root=args.root, generator="none", config=config)
    items = [("0", args.query)] if args.query is not None else list(_read_questions(args.questions))
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


def cmd_train_reranker(args: argparse.Namespace) -> int:
    from ragengine.rerank.train import main as train_main

    return int(train_main(list(args.rest)) or 0)


def cmd_eval(args: argparse.Namespace) -> int:
    from ragengine.evaluation.harness import run_from_args

    return int(run_from_args(args))


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(BENCHES[args.which])
    return int(module.main(list(args.rest)) or 0)


def ui_app_path() -> Path:
    """The console script: shipped inside the package (a link to ui/app.py in a checkout)."""
    import ragengine

    path = (Path(ragengine.__file__).parent / "_ui" / "app.py").resolve()
    if not path.is_file():
        raise InvalidInput(f"the console app is missing at {path}; reinstall ragengine with the ui extra")
    return path


def cmd_ui(args: argparse.Namespace) -> int:
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
    ]
    print(f"serving the console on http://127.0.0.1:{args.port}", file=sys.stderr)
    sys.stderr.flush()
    os.execve(sys.executable, cmd, env)  # become the server: signals reach streamlit directly


COMMANDS = {
    "index": cmd_index,
    "ask": cmd_ask,
    "info": cmd_info,
    "cluster": cmd_cluster,
    "ui": cmd_ui,
    "bench": cmd_bench,
    "eval": cmd_eval,
    "search": cmd_search,
    "train-reranker": cmd_train_reranker,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return COMMANDS[args.command](args)
    except RagEngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
