"""Any OpenAI-compatible chat-completions server (vLLM, llama.cpp server, hosted APIs).

Standard library HTTP only (no OpenAI client). The key is read from an environment variable
(``OPENAI_API_KEY`` by default), never stored. Token counts come from the server's
``usage`` field; budgets are counted with ``tokenizer`` (o200k_base by default, or
``smollm2-135m-instruct`` when the server runs the local model).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from ragengine.errors import GenerationError, InvalidInput
from ragengine.generate.prompt import chat_messages, clean_answer
from ragengine.tokens import get_token_counter
from ragengine.types import Generation

_USERINFO = re.compile(r"(\w+://)[^/@\s]+@")


def redact_url(text: str) -> str:
    """``text`` with every URL's ``user:password@`` replaced by ``***@``."""
    return _USERINFO.sub(r"\1***@", text)


class OpenAIGenerator:
    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        tokenizer: str = "o200k_base",
        max_tokens: int = 32,
        temperature: float = 0.0,
        timeout_s: float = 60.0,
    ) -> None:
        base_url = base_url or os.environ.get("RAGENGINE_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise InvalidInput(
                f"the openai generator needs a base URL like http://127.0.0.1:8000/v1, "
                f"got {redact_url(base_url) if base_url else base_url!r}; "
                "pass --base-url or set RAGENGINE_OPENAI_BASE_URL"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model or os.environ.get("RAGENGINE_OPENAI_MODEL", "default")
        self.api_key_env = api_key_env
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout_s = timeout_s

    def prompt_overhead(self, question: str) -> int:
        counter = get_token_counter(self.tokenizer)
        messages = chat_messages(question, [])
        return sum(counter.count(m["content"]) + 4 for m in messages) + 3

    def generate(self, question: str, contexts: Sequence[str], *, max_tokens: int | None = None) -> Generation:
        body = {
            "model": self.model,
            "messages": chat_messages(question, contexts),
            "temperature": self.temperature,
            "max_tokens": max_tokens if max_tokens is not None else self.max_tokens,
            "stop": ["\n"],
        }
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = f"{self.base_url}/chat/completions"
        try:
            data = self._post(url, body, headers)
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as e:
            raise self._error(f"{url} returned no choices[0].message.content: {str(data)[:300]}") from e
        usage = data.get("usage") or {}
        if not isinstance(usage, dict):
            raise self._error(f"{url} returned a usage that is not an object: {str(usage)[:100]}")
        return Generation(
            text=clean_answer(text),
            prompt_tokens=self._count(url, usage, "prompt_tokens"),
            completion_tokens=self._count(url, usage, "completion_tokens"),
            llm_calls=1,
            model=str(data.get("model", self.model)),
        )

    def _post(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:300]
            raise self._error(f"{url} answered HTTP {e.code}: {detail}") from e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise self._error(f"cannot reach {url}: {e}; is the server running?") from e
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise self._error(f"{url} did not return JSON: {e}") from e

    def _count(self, url: str, usage: dict[str, Any], field: str) -> int:
        value = usage.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self._error(f"{url} returned usage.{field} = {str(value)[:40]!r}, not a token count")
        return int(value)

    def _error(self, message: str) -> GenerationError:
        """A GenerationError whose message never shows the API key or a URL's user:password."""
        message = redact_url(message)
        key = os.environ.get(self.api_key_env)
        if key:
            message = message.replace(key, "***")
        return GenerationError(message)
