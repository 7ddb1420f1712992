"""``ragengine serve`` against a real uvicorn server on 127.0.0.1: native routes, the OpenAI client
(plain and streamed), errors as JSON objects, the API key, the body limit, the bounded queue and a
load of 200 requests from 8 concurrent clients."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import openai
import pytest
import uvicorn

from ragengine import Engine
from ragengine.serve.app import ServeSettings, create_app
from ragengine.testing import EchoGenerator
from ragengine.types import Generation

pytestmark = pytest.mark.integration


class SlowEcho(EchoGenerator):
    """The echo reader, taking ``seconds`` per answer: keeps the question worker busy."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def generate(self, question: str, contexts: Sequence[str], *, max_tokens: int | None = None) -> Generation:
        time.sleep(self.seconds)
        return super().generate(question, contexts, max_tokens=max_tokens)


def _serve(engines: dict[str, Engine], settings: ServeSettings) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(create_app(engines, settings), host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def url(tiny_index: Path) -> Iterator[str]:
    yield from _serve({"tiny": Engine.from_index(tiny_index, generator="extractive")}, ServeSettings())


def test_native_routes(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("/healthz").json() == {"status": "ok", "indexes": ["tiny"]}
        assert c.get("/v1/indexes").json()["data"][0]["name"] == "tiny"
        hits = c.post("/v1/search", json={"index": "tiny", "query": "capital of Italy", "k": 2}).json()["data"]
        assert len(hits) == 2 and hits[0]["doc_id"] == "rome"
        ans = c.post("/v1/ask", json={"index": "tiny", "question": "What is the capital of Italy?", "budget": 24})
        d = ans.json()
        assert ans.status_code == 200 and d["answer"] == "Rome is the capital of Italy."
        assert d["strategy"] == "evidence" and 0 < d["cost"]["context_tokens"] <= 24
        assert d["citations"][0]["doc_id"] == "rome"


def test_errors_are_json_objects_with_a_status(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/v1/ask", json={"index": "nope", "question": "q"})
        assert r.status_code == 404 and "no index 'nope' is served" in r.json()["error"]["message"]
        r = c.post("/v1/ask", json={"index": "tiny", "question": "q", "budget": 0})
        assert r.status_code == 400 and "context_tokens must be" in r.json()["error"]["message"]
        r = c.post("/v1/ask", json={"index": "tiny"})
        assert r.status_code == 422 and "question" in r.json()["error"]["message"]
        r = c.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_request_error"
        r = c.post("/v1/ask", json={"index": "tiny", "question": "q", "strategy": "best"})
        assert r.status_code == 400 and "unknown selection strategy 'best'" in r.json()["error"]["message"]
        r = c.post("/v1/ask", content=b"x" * 1_000_001, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "over 1000000 bytes" in r.json()["error"]["message"]
        assert c.get("/v1/nothing").status_code == 404 and "error" in c.get("/v1/nothing").json()


def test_the_openai_client_plain_and_streamed(url: str) -> None:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    q = [{"role": "user", "content": "What is the capital of Italy?"}]
    out = client.chat.completions.create(model="tiny", messages=q, extra_body={"ragengine": {"budget": 24}})
    assert out.choices[0].message.content == "Rome is the capital of Italy."
    ext = out.model_extra["ragengine"]  # type: ignore[index]
    assert ext["cost"]["context_tokens"] <= 24 and ext["citations"][0]["doc_id"] == "rome"
    assert out.usage is not None and out.usage.total_tokens == 0  # the extractive reader spends no LLM tokens
    pieces = [
        c.choices[0].delta.content or "" for c in client.chat.completions.create(model="tiny", messages=q, stream=True)
    ]
    assert "".join(pieces) == "Rome is the capital of Italy."
    with pytest.raises(openai.NotFoundError, match="no index 'other' is served"):
        client.chat.completions.create(model="other", messages=q)


def test_streaming_sends_the_readers_pieces_as_they_come(tiny_index: Path) -> None:
    eng = Engine.from_index(tiny_index, generator="llm", generator_options={"reader": "smollm2"})
    for base in _serve({"tiny": eng}, ServeSettings()):
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused")
        q = [{"role": "user", "content": "What is the capital of Italy?"}]
        chunks = list(
            client.chat.completions.create(
                model="tiny", messages=q, stream=True, extra_body={"ragengine": {"budget": 30}}
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        final = chunks[-1].model_extra["ragengine"]  # type: ignore[index]
        assert final["answer"].startswith(text.strip()[:5]) and text.strip()
        assert sum(1 for c in chunks if c.choices[0].delta.content) >= 2  # more than one piece: it streamed
        assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage.completion_tokens > 0  # type: ignore[union-attr]


def test_the_api_key_is_required_when_set(tiny_index: Path) -> None:
    eng = Engine.from_index(tiny_index, generator="extractive")
    for base in _serve({"tiny": eng}, ServeSettings(api_key="s3cret")):
        with httpx.Client(base_url=base, timeout=30) as c:
            assert c.get("/healthz").status_code == 200  # liveness needs no key
            r = c.get("/v1/indexes")
            assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
            assert c.get("/v1/indexes", headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert c.get("/v1/indexes", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_a_full_queue_answers_429_at_once(tiny_index: Path) -> None:
    eng = Engine.from_index(tiny_index, generator=SlowEcho(1.0))
    for base in _serve({"tiny": eng}, ServeSettings(queue_size=0)):

        async def burst(base: str = base) -> list[int]:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                body = {"index": "tiny", "question": "What is the capital of Italy?", "budget": 24}
                return [r.status_code for r in await asyncio.gather(*(c.post("/v1/ask", json=body) for _ in range(3)))]

        codes = asyncio.run(burst())
        assert sorted(codes) == [200, 429, 429]


def test_200_requests_from_8_concurrent_clients_all_succeed(url: str) -> None:
    questions = ["What is the capital of Italy?", "Where does the Nile flow?", "Which river flows north into the sea?"]

    async def client(k: int) -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            codes = []
            for i in range(25):
                q = questions[(k + i) % len(questions)]
                route = ("/v1/ask", {"index": "tiny", "question": q, "budget": 24}) if i % 2 else (
                    "/v1/search", {"index": "tiny", "query": q, "k": 3})  # fmt: skip
                codes.append((await c.post(route[0], json=route[1])).status_code)
            return codes

    async def load() -> list[int]:
        return [code for codes in await asyncio.gather(*(client(k) for k in range(8))) for code in codes]

    codes = asyncio.run(load())
    assert len(codes) == 200 and set(codes) == {200}
