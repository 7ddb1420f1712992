"""``POST /v1/chat/completions``: OpenAI's chat format over a ragengine index.

``model`` names the index; the last user message is the question; a ``ragengine`` object carries
the budget (an int of context tokens, or ``{"context_tokens", "total_tokens", "usd", ...}``) and
the strategy. The reply is a ``chat.completion`` whose ``usage`` holds the tokens the engine really
spent (LLM tokens in and out over every stage, as its Ledger counted them) and whose ``ragengine``
object holds the citations, the ledger and the selection trace. With ``stream: true`` the answer
arrives as server-sent events while the reader writes it (one ``chat.completion.chunk`` per piece,
then a last chunk with ``finish_reason``, ``usage`` and the ``ragengine`` object, then ``[DONE]``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.params import Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ragengine import Answer
from ragengine.serve import errors
from ragengine.serve.errors import ServiceError
from ragengine.serve.service import BudgetIn, Service, as_budget


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class RagOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    budget: int | BudgetIn | None = None
    strategy: str | None = None


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p, ... are accepted and ignored
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    ragengine: RagOptions | None = None


def question_of(messages: list[ChatMessage]) -> str:
    """The text of the last user message (string content, or the text parts of a list)."""
    for m in reversed(messages):
        if m.role != "user":
            continue
        if isinstance(m.content, str):
            text = m.content
        else:
            text = " ".join(str(p.get("text", "")) for p in (m.content or []) if p.get("type") == "text")
        if text.strip():
            return text.strip()
    raise ServiceError(400, "invalid_request_error", "no user message with text: the last user message is the question")


def usage(ans: Answer) -> dict[str, int]:
    tin = sum(s.tokens_in for s in ans.cost.stages.values())
    tout = sum(s.tokens_out for s in ans.cost.stages.values())
    return {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}


def extension(ans: Answer) -> dict[str, Any]:
    d = ans.to_dict()
    return {"citations": d["citations"], "cost": d["cost"], "budget": d["budget"], "trace": d["trace"]}


def completion(ans: Answer, model: str, cid: str, created: int) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ans.text}, "finish_reason": "stop"}],
        "usage": usage(ans),
        "ragengine": extension(ans),
    }


def chunk(cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def sse(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


def add_chat_route(app: FastAPI, service: Service, auth: list[Depends]) -> None:
    @app.post("/v1/chat/completions", dependencies=auth, response_model=None)
    async def chat(req: ChatIn) -> dict[str, Any] | StreamingResponse:
        eng = service.engine(req.model)
        opts = req.ragengine or RagOptions()
        question = question_of(req.messages)
        budget = as_budget(opts.budget, service.settings.default_budget)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if not req.stream:
            ans = await service.question(lambda: eng.ask(question, budget, strategy=opts.strategy))
            return completion(ans, req.model, cid, created)

        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()

        def push(piece: str) -> None:
            loop.call_soon_threadsafe(pieces.put_nowait, piece)

        def work() -> Answer:
            try:
                return eng.ask(question, budget, strategy=opts.strategy, on_text=push)
            finally:
                loop.call_soon_threadsafe(pieces.put_nowait, None)

        task = asyncio.ensure_future(service.question(work))
        await asyncio.sleep(0)
        if task.done() and task.exception() is not None:  # refused (queue full): a plain JSON error
            raise task.exception()  # type: ignore[misc]

        async def events() -> AsyncIterator[str]:
            yield sse(chunk(cid, created, req.model, {"role": "assistant", "content": ""}))
            while True:
                getter = asyncio.ensure_future(pieces.get())
                done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    if task.exception() is not None:
                        break
                    continue
                piece = getter.result()
                if piece is None:
                    break
                yield sse(chunk(cid, created, req.model, {"content": piece}))
            try:
                ans = await task
            except Exception as e:  # the stream has begun: the error is the last event
                yield sse(errors.from_exception(e)[1])
            else:
                last = chunk(cid, created, req.model, {}, "stop")
                last["usage"], last["ragengine"] = usage(ans), {**extension(ans), "answer": ans.text}
                yield sse(last)
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
