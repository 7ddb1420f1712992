"""One raw chat call to the engine's generator, with its exact token usage (for rewriting, summaries).

The answer generators only expose ``generate(question, contexts)`` with the grounded-QA prompt;
rewriting and abstractive summaries need their own messages. ``chat_complete`` adapts:

- any object with ``chat(messages, *, max_tokens, json_schema) -> ChatReply`` (fakes, custom models);
- ``LlamaCppGenerator`` (``load()`` gives the ``llama_cpp.Llama``): ``create_chat_completion`` at
  temperature 0; a ``json_schema`` becomes llama.cpp's grammar-constrained JSON mode, so even a
  small model replies in the requested shape (it is still validated by the caller);
- ``OpenAIGenerator`` (``base_url``): one POST to ``/chat/completions`` with ``response_format``.

Token counts come from the backend's own usage report, so the ledger charge is exact.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ragengine.errors import GenerationError, InvalidInput


@dataclass(frozen=True)
class ChatReply:
    """The reply text and the tokens the backend counted for the call."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatModel(Protocol):
    def chat(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, json_schema: dict[str, Any] | None = None
    ) -> ChatReply: ...


def _usage(out: dict[str, Any]) -> tuple[str, int, int]:
    try:
        text = out["choices"][0]["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise GenerationError(f"the chat reply has no choices[0].message.content: {str(out)[:200]}") from e
    usage = out.get("usage") or {}
    return str(text), int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))


def _llama(gen: Any, messages: list[dict[str, str]], max_tokens: int, schema: dict[str, Any] | None) -> ChatReply:
    llm = gen.load()
    kwargs: dict[str, Any] = {"messages": messages, "temperature": 0.0, "max_tokens": max_tokens}
    if schema is not None:
        kwargs["response_format"] = {"type": "json_object", "schema": schema}
    seed = getattr(gen, "seed", None)
    if isinstance(seed, int):
        kwargs["seed"] = seed
    lock = getattr(gen, "_lock", None) or contextlib.nullcontext()
    with lock:
        try:
            llm.reset()
            out = llm.create_chat_completion(**kwargs)
        except ValueError as e:  # prompt longer than n_ctx
            raise GenerationError(f"llama.cpp refused the prompt: {e}") from e
    return ChatReply(*_usage(out))


def _openai(gen: Any, messages: list[dict[str, str]], max_tokens: int, schema: dict[str, Any] | None) -> ChatReply:
    body: dict[str, Any] = {
        "model": getattr(gen, "model", ""),
        "messages": messages,
        "temperature": 0.0,
        "max_tokens": max_tokens,
    }
    if schema is not None:
        body["response_format"] = {"type": "json_object"}
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(str(getattr(gen, "api_key_env", "OPENAI_API_KEY")))
    if key:
        headers["Authorization"] = f"Bearer {key}"
    url = f"{str(gen.base_url).rstrip('/')}/chat/completions"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=float(getattr(gen, "timeout_s", 60))) as resp:
            data = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        raise GenerationError(f"{url} answered HTTP {e.code}") from e
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise GenerationError(f"cannot reach {url}: {e}; is the server running?") from e
    except json.JSONDecodeError as e:
        raise GenerationError(f"{url} did not return JSON: {e}") from e
    return ChatReply(*_usage(data))


def can_chat(model: Any) -> bool:
    """Whether ``chat_complete`` can drive ``model`` (a chat method, a llama.cpp loader, or an OpenAI URL)."""
    return (
        callable(getattr(model, "chat", None))
        or callable(getattr(model, "load", None))
        or bool(getattr(model, "base_url", None))
    )


def chat_complete(
    model: Any, messages: Sequence[dict[str, str]], *, max_tokens: int, json_schema: dict[str, Any] | None = None
) -> ChatReply:
    """One chat completion at temperature 0 on ``model``; raises GenerationError if the backend fails."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0:
        raise InvalidInput(f"max_tokens must be a positive int, got {max_tokens!r}")
    msgs = [dict(m) for m in messages]
    if callable(getattr(model, "chat", None)):
        reply = model.chat(msgs, max_tokens=max_tokens, json_schema=json_schema)
        if not isinstance(reply, ChatReply):
            raise InvalidInput(f"{type(model).__name__}.chat must return a ChatReply, got {type(reply).__name__}")
        return reply
    if callable(getattr(model, "load", None)):
        return _llama(model, msgs, max_tokens, json_schema)
    if getattr(model, "base_url", None):
        return _openai(model, msgs, max_tokens, json_schema)
    raise InvalidInput(
        f"{type(model).__name__} cannot make raw chat calls; use the 'llm' or 'openai' generator, "
        "or an object with chat(messages, max_tokens=..., json_schema=...)"
    )


class MemoChat:
    """A chat model whose replies are memoised in a JSON file (keyed by messages, limits and schema).

    For benchmarks and reproducible runs: a re-run replays the recorded replies and their recorded
    token usage instead of calling the model again.
    """

    def __init__(self, model: Any, path: str | os.PathLike[str]) -> None:
        from pathlib import Path

        self.model, self.path = model, Path(path)
        self.memo: dict[str, list[Any]] = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self.replayed = self.called = 0

    def chat(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, json_schema: dict[str, Any] | None = None
    ) -> ChatReply:
        key = json.dumps([list(messages), max_tokens, json_schema], sort_keys=True)
        self.replayed += key in self.memo
        if key not in self.memo:
            self.called += 1
            r = chat_complete(self.model, messages, max_tokens=max_tokens, json_schema=json_schema)
            self.memo[key] = [r.text, r.prompt_tokens, r.completion_tokens]
            self.path.write_text(json.dumps(self.memo), encoding="utf-8")
        text, pt, ct = self.memo[key]
        return ChatReply(str(text), int(pt), int(ct))
