"""The OpenAI-compatible backend against a real local HTTP server that misbehaves: the API key and
a URL's password never appear in an error, and a malformed `usage` is a typed error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ragengine.errors import GenerationError, InvalidInput
from ragengine.generate.openai_http import OpenAIGenerator

pytestmark = pytest.mark.reliability
KEY = "sk-test-5ecret-key-123"


class _Handler(BaseHTTPRequestHandler):
    reply: tuple[int, Any] = (200, {})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        code, body = type(self).reply
        if body == "echo-headers":
            body = {"error": "bad request", "headers": dict(self.headers)}
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _reply(code: int, body: Any) -> None:
    _Handler.reply = (code, body)


def test_an_error_body_that_echoes_the_headers_does_not_show_the_key(server: str) -> None:
    _reply(400, "echo-headers")
    with pytest.raises(GenerationError) as caught:
        OpenAIGenerator(server).generate("q?", ["context"])
    assert "HTTP 400" in str(caught.value) and KEY not in str(caught.value) and "***" in str(caught.value)


def test_a_password_in_the_url_is_never_shown() -> None:
    gen = OpenAIGenerator("http://user:hunter2@127.0.0.1:9/v1", timeout_s=2)
    with pytest.raises(GenerationError) as caught:
        gen.generate("q?", ["context"])
    assert "hunter2" not in str(caught.value)
    with pytest.raises(InvalidInput) as bad:
        OpenAIGenerator("ftp://user:hunter2@host/v1")
    assert "hunter2" not in str(bad.value)


@pytest.mark.parametrize("usage", [{"prompt_tokens": "many"}, {"completion_tokens": -3}, "lots", [1, 2]])
def test_a_malformed_usage_is_a_generation_error(server: str, usage: Any) -> None:
    _reply(200, {"choices": [{"message": {"content": "1998"}}], "usage": usage})
    with pytest.raises(GenerationError, match="usage"):
        OpenAIGenerator(server).generate("q?", ["context"])


def test_a_good_reply_is_counted(server: str) -> None:
    _reply(200, {"choices": [{"message": {"content": "1998"}}], "usage": {"prompt_tokens": 40, "completion_tokens": 2}})
    gen = OpenAIGenerator(server).generate("q?", ["context"])
    assert (gen.text, gen.prompt_tokens, gen.completion_tokens) == ("1998", 40, 2)
