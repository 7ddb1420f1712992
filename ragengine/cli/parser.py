"""The command line's arguments: one sub-command per verb, choices taken from ``ragengine.config``."""

from __future__ import annotations

import argparse
import os

from ragengine.config import (
    CLUSTER_MODES,
    DENSE_KINDS,
    GENERATORS,
    RERANKERS,
    RETRIEVAL_MODES,
    REWRITE_MODES,
    STRATEGIES,
    SUMMARY_MODES,
)
from ragengine.readers import BY_ACCURACY


def _add_store(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        default=os.environ.get("RAGENGINE_STORE") or None,
        metavar="URL",
        help="a database holding the index instead of --root: postgresql://USER@HOST:PORT/DB (the password "
        "from the URL or PGPASSWORD; default $RAGENGINE_STORE)",
    )


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=None, help="folder holding indexes (default: ./indexes or $RAGENGINE_INDEXES)")
    _add_store(p)
    p.add_argument(
        "--budget", type=int, default=None, help="context tokens (hard cap); default 256, or the total budget if given"
    )
    p.add_argument("--total-budget", type=int, default=None, help="cap on every LLM token of the question")
    p.add_argument("--max-new-tokens", type=int, default=32, help="cap on the answer's tokens (default 32)")
    p.add_argument(
        "--abstain-below",
        type=float,
        default=None,
        metavar="P",
        help="with --strategy evidence: answer '[no answer]' without calling the reader when the chance "
        "that the context holds the answer is below P",
    )
    p.add_argument(
        "--generator",
        choices=GENERATORS,
        default=None,
        help="llm (a local reader: --reader), openai, extractive (no LLM), none (dry run); default: llm if installed",
    )
    p.add_argument(
        "--reader",
        choices=BY_ACCURACY,
        default=None,
        help="the llm generator's model (default: the most accurate installed: qwen-1.5b, qwen-0.5b, smollm2)",
    )
    p.add_argument(
        "--copy-span",
        action="store_true",
        help="the local reader may only copy text from the selected context (no answer can contradict it)",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=None,
        help="how the budget is spent (default: evidence, sentence-level; greedy with --evidence off)",
    )
    p.add_argument(
        "--evidence",
        choices=["auto", "off"],
        default="auto",
        help="auto: select scored sentences, grouped by document (the evidence strategy); off: whole chunks",
    )
    p.add_argument("--retrieval", choices=RETRIEVAL_MODES, default="hybrid")
    p.add_argument("--candidates", type=int, default=30, help="candidates offered to the selector")
    p.add_argument(
        "--reranker",
        choices=RERANKERS,
        default="auto",
        help="term-matching re-rank (auto: when the index has term weights)",
    )
    p.add_argument(
        "--clusters",
        choices=CLUSTER_MODES,
        default="auto",
        help="CRAG cluster excerpts/members/summaries as candidates (auto: when the index has clusters)",
    )
    p.add_argument(
        "--rewrite",
        choices=REWRITE_MODES,
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
    _add_store(p)
    p.add_argument("--chunk-size", type=int, default=128, help="tokens per chunk (generator tokenizer)")
    p.add_argument("--chunk-overlap", type=int, default=16)
    p.add_argument("--dense", choices=DENSE_KINDS, default="flat")
    p.add_argument("--embedder", default="minilm-onnx-int8", help="minilm-onnx-int8 | minilm-st-fp32")
    p.add_argument("--tokenizer", default="smollm2-135m-instruct")
    p.add_argument("--text-field", default="text", help="field holding the text in .jsonl records")
    p.add_argument("--clusters", action="store_true", help="also build CRAG clusters with extractive summaries")
    p.add_argument("--include", action="append", default=[], metavar="GLOB", help="index only matching files (*.md)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave matching files out (img/*)")
    p.add_argument("--rebuild", action="store_true", help="encode everything, even what the existing index could lend")
    p.add_argument(
        "--ray",
        nargs="?",
        const=True,
        default=None,
        metavar="ADDRESS",
        help="encode on a Ray cluster (ray://HOST:10001 or auto; no ADDRESS: a local Ray; ragengine[ray])",
    )
    p.add_argument(
        "--doc-ids",
        choices=["relative", "path"],
        default="relative",
        help="name files by their path inside the folder given (relative, the default: citations read "
        "docs' own paths wherever the command ran) or by the path as given (path)",
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "add", help="add or replace documents in an existing index (only new or changed ones are encoded)"
    )
    p.add_argument("name")
    p.add_argument("paths", nargs="+")
    p.add_argument("--root", default=None)
    _add_store(p)
    p.add_argument("--text-field", default="text", help="field holding the text in .jsonl records")
    p.add_argument("--include", action="append", default=[], metavar="GLOB", help="add only matching files (*.md)")
    p.add_argument(
        "--doc-ids",
        choices=["relative", "path"],
        default=None,
        help="how new files are named (default: as the index named its files, see `ragengine index --doc-ids`)",
    )
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave matching files out (img/*)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("remove", help="remove documents by id from an index (`ragengine info NAME --documents`)")
    p.add_argument("name")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    p.add_argument("--root", default=None)
    _add_store(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("cluster", help="build (or rebuild) the CRAG clusters of an existing index")
    p.add_argument("name")
    p.add_argument("--root", default=None)
    _add_store(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-clusters", type=int, default=None, help="default: round(sqrt(chunks))")
    p.add_argument("--summary", choices=SUMMARY_MODES, default="extractive")
    p.add_argument("--summary-tokens", type=int, default=96, help="token cap of each cluster summary")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ask", help="answer a question (or a --questions FILE.jsonl batch)")
    p.add_argument("name", help="index name or folder")
    p.add_argument("question", nargs="?", default=None)
    p.add_argument("--questions", default=None, help="JSON lines with a 'question' field (optional 'id')")
    p.add_argument(
        "--on-error",
        choices=("stop", "skip"),
        default="stop",
        help="a bad --questions line: stop (default) or print an error object in its place and go on",
    )
    _add_engine_args(p)

    p = sub.add_parser("ui", help="serve the Streamlit console on 127.0.0.1")
    p.add_argument("--index", default=None, help="index to open first")
    p.add_argument("--root", default=None)
    _add_store(p)
    p.add_argument("--port", type=int, default=8501)

    p = sub.add_parser("search", help="ranked candidates (chunk_id, doc_id, score), no selection or generation")
    p.add_argument("name")
    p.add_argument("query", nargs="?", default=None)
    p.add_argument("--questions", default=None, help="JSON lines with a 'question' field (optional 'id')")
    p.add_argument("-k", type=int, default=100)
    p.add_argument("--root", default=None)
    _add_store(p)
    p.add_argument("--retrieval", choices=RETRIEVAL_MODES, default="hybrid")
    p.add_argument("--reranker", choices=RERANKERS, default="auto")
    p.add_argument("--json", action="store_true")

    from ragengine.cli.offline import add_offline_commands
    from ragengine.cli.serving import add_serve_command

    add_offline_commands(sub)
    add_serve_command(sub)

    p = sub.add_parser("push", help="copy a local index into a database store (--store URL) as a new version")
    p.add_argument("name", help="local index name or folder")
    p.add_argument("--root", default=None)
    p.add_argument("--as", dest="target", default=None, metavar="NAME", help="its name in the store (default: same)")
    _add_store(p)

    p = sub.add_parser("info", help="show an index's manifest")
    p.add_argument("name")
    p.add_argument("--root", default=None)
    _add_store(p)
    p.add_argument("--documents", action="store_true", help="list the document ids and their chunk counts instead")
    return parser
