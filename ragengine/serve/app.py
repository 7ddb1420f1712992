"""The HTTP application: native JSON routes, the OpenAI-compatible route, auth, limits and the queue.

Routes: ``GET /healthz``, ``GET /v1/indexes``, ``POST /v1/search``, ``POST /v1/ask`` (the same
fields as ``ragengine ask --json``) and ``POST /v1/chat/completions`` (``openai_chat``).

Concurrency: every request shares the loaded engines. Questions (which may call the local LLM)
run one at a time on one worker thread, behind a queue of at most ``queue_size`` waiting
requests; a request beyond that is refused at once with 429, and one that waits or runs longer
than ``timeout_s`` gets 504. Searches run concurrently on the server's thread pool.
Safety: binds 127.0.0.1 unless told otherwise; with an API key every ``/v1`` route needs
``Authorization: Bearer KEY`` (compared in constant time); request bodies over
``max_body_bytes`` are refused with 413 before they are parsed.

>>> app = create_app({"demo": Engine.from_index("demo")}, ServeSettings())   # doctest: +SKIP
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragengine import Engine
from ragengine.serve import errors
from ragengine.serve.errors import ServiceError
from ragengine.serve.openai_chat import add_chat_route
from ragengine.serve.service import BudgetIn, ServeSettings, Service, as_budget

__all__ = ["ServeSettings", "create_app"]


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: str
    question: str = Field(min_length=1, max_length=4000)
    budget: int | BudgetIn | None = None
    strategy: str | None = None


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: str
    query: str = Field(min_length=1, max_length=4000)
    k: int = Field(10, gt=0, le=100)


class BodyLimit:
    """Refuse a request body larger than ``limit`` bytes (declared or streamed) with 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise ServiceError(413, "invalid_request_error", f"request body over {self.limit} bytes")
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send: Send) -> None:
        data = json.dumps(errors.body(f"request body over {self.limit} bytes", "invalid_request_error")).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": data})


def create_app(engines: dict[str, Engine], settings: ServeSettings | None = None) -> FastAPI:
    """The FastAPI application serving ``engines`` (index name -> loaded Engine)."""
    settings = settings or ServeSettings()
    service = Service(engines, settings)
    app = FastAPI(title="ragengine", version="1", docs_url="/docs", redoc_url=None)
    app.state.service = service
    errors.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    def authorised(request: Request) -> None:
        key = settings.api_key
        if key is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
            raise ServiceError(401, "authentication_error", "missing or wrong API key (Authorization: Bearer KEY)")

    auth = [Depends(authorised)]

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "indexes": sorted(engines)}

    @app.get("/v1/indexes", dependencies=auth)
    async def indexes() -> dict[str, Any]:
        out = []
        for name, eng in sorted(engines.items()):
            m = eng.manifest
            out.append({"name": name, "documents": m.n_documents, "chunks": m.n_chunks, "embedder": m.embedder})
        return {"object": "list", "data": out}

    @app.post("/v1/search", dependencies=auth)
    async def search(req: SearchIn) -> dict[str, Any]:
        eng = service.engine(req.index)
        got = await run_in_threadpool(eng.retrieve, req.query)
        rows = [
            {"chunk_id": c.chunk.chunk_id, "doc_id": c.chunk.doc_id, "score": c.score, "text": c.chunk.text}
            for c in got.candidates[: req.k]
        ]
        return {"object": "list", "index": req.index, "data": rows}

    @app.post("/v1/ask", dependencies=auth)
    async def ask(req: AskIn) -> dict[str, Any]:
        eng = service.engine(req.index)
        budget = as_budget(req.budget, settings.default_budget)
        ans = await service.question(lambda: eng.ask(req.question, budget, strategy=req.strategy))
        return {**ans.to_dict(), "strategy": ans.trace.get("strategy")}

    add_chat_route(app, service, auth)
    app.router.add_event_handler("shutdown", service.close)
    return app
