"""What the service shares between requests: its settings, the loaded engines and the question queue."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ragengine import Budget, Engine
from ragengine.serve.errors import ServiceError

T = TypeVar("T")


@dataclass(frozen=True)
class ServeSettings:
    """How the service admits work: queue length, timeout, body limit and the optional API key."""

    queue_size: int = 8
    timeout_s: float = 120.0
    max_body_bytes: int = 1_000_000
    api_key: str | None = None
    default_budget: int = 256


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    context_tokens: int = Field(256, gt=0)
    total_tokens: int | None = Field(None, gt=0)
    usd: float | None = Field(None, gt=0)
    latency_ms: float | None = Field(None, gt=0)


def as_budget(value: int | BudgetIn | None, default: int) -> Budget:
    if value is None:
        return Budget(context_tokens=default)
    if isinstance(value, int):
        return Budget(context_tokens=value)
    return Budget(**value.model_dump())


class Service:
    """The loaded engines, the one-at-a-time question worker and its bounded queue."""

    def __init__(self, engines: dict[str, Engine], settings: ServeSettings) -> None:
        self.engines, self.settings = engines, settings
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragengine-ask")
        self._lock = threading.Lock()
        self._waiting = 0

    def engine(self, name: str) -> Engine:
        if name not in self.engines:
            served = ", ".join(sorted(self.engines)) or "none"
            raise ServiceError(
                404, "not_found_error", f"no index {name!r} is served; served: {served}", "model_not_found"
            )
        return self.engines[name]

    async def question(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the question worker, or refuse with 429 when the queue is full."""
        with self._lock:
            if self._waiting >= self.settings.queue_size + 1:  # one running plus queue_size waiting
                raise ServiceError(
                    429, "rate_limit_error", f"the question queue is full ({self.settings.queue_size} waiting)"
                )
            self._waiting += 1
        future = self._worker.submit(fn)
        future.add_done_callback(lambda _: self._release())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.settings.timeout_s)
        except TimeoutError as e:
            future.cancel()
            raise ServiceError(504, "timeout_error", f"no answer within {self.settings.timeout_s:g} s") from e

    def _release(self) -> None:
        with self._lock:
            self._waiting -= 1

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
