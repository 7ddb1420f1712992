"""``ragengine serve NAME...``: the HTTP service (``ragengine.serve``) on uvicorn, 127.0.0.1 by default."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_serve_command(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve indexes over HTTP (OpenAI-compatible chat, /v1/ask, /v1/search)")
    p.add_argument("names", nargs="+", help="index names or folders; each is served under its name")
    p.add_argument("--root", default=None)
    p.add_argument(
        "--store",
        default=os.environ.get("RAGENGINE_STORE") or None,
        metavar="URL",
        help="serve indexes held in a database (postgresql://USER@HOST:PORT/DB; default $RAGENGINE_STORE)",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--generator", default=None, help="llm, openai, extractive or none (default: llm if installed)")
    p.add_argument("--reader", default=None, help="the llm generator's model (default: best installed)")
    p.add_argument("--strategy", default=None, help="default selection strategy (default: evidence)")
    p.add_argument("--budget", type=int, default=256, help="context tokens when a request names none")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--api-key-env", default=None, metavar="VAR", help="require 'Authorization: Bearer $VAR'")
    p.add_argument("--queue", type=int, default=8, help="questions that may wait for the reader (then 429)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a question may wait and run (then 504)")
    p.add_argument("--max-body", type=int, default=1_000_000, help="largest request body in bytes (then 413)")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from ragengine import Engine, EngineConfig
    from ragengine.errors import InvalidInput, MissingDependency

    try:
        import uvicorn

        from ragengine.serve.app import ServeSettings, create_app
    except ImportError as e:
        raise MissingDependency("ragengine serve (FastAPI and uvicorn)", "serve") from e
    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise InvalidInput(f"--api-key-env {args.api_key_env}: that environment variable is empty or unset")
    for name, value in (("--queue", args.queue), ("--port", args.port), ("--max-body", args.max_body)):
        if value <= 0:
            raise InvalidInput(f"{name} must be positive, got {value}")
    config = EngineConfig(strategy=args.strategy or "evidence", max_new_tokens=args.max_new_tokens)
    opts = {"reader": args.reader} if args.reader else {}
    engines = {}
    for name in args.names:
        eng = Engine.from_index(
            name, root=args.root, store=args.store, generator=args.generator, config=config, generator_options=opts
        )
        engines[eng.manifest.name] = eng.warm_up()
    settings = ServeSettings(args.queue, args.timeout, args.max_body, key, args.budget)
    app = create_app(engines, settings)
    auth = "bearer key required" if key else "no key (local use)"
    print(f"serving {', '.join(engines)} on http://{args.host}:{args.port} ({auth})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
