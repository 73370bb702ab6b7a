"""Asking the auto-start function to start the database after a connection failure.

In aws the producer Lambda invokes the auto-start Lambda asynchronously (it answers 503 at once
and the client retries); locally the same handler is called in-process. "off" for DSQL, which has
no stop/start.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

LOCAL_AUTO_START = "lambdas.auto_start.handler:handler"
REQUEST = {"source": "producer-api", "reason": "database connection failed"}


class AutoStarter(Protocol):
    def request_start(self) -> str:
        """Ask for the database to be started; returns a short status for the log."""
        ...


class LambdaAutoStarter:
    def __init__(self, function_name: str, lambda_client: Any) -> None:
        self._function = function_name
        self._client = lambda_client

    def request_start(self) -> str:
        answer = self._client.invoke(
            FunctionName=self._function,
            InvocationType="Event",
            Payload=json.dumps(REQUEST).encode(),
        )
        return f"auto-start invoked ({answer.get('StatusCode')})"


class InProcessAutoStarter:
    def __init__(self, target: str | Callable[[dict[str, Any], Any], Any] = LOCAL_AUTO_START):
        self._target = target

    def _function(self) -> Callable[[dict[str, Any], Any], Any]:
        if callable(self._target):
            return self._target
        module, _, name = self._target.partition(":")
        return getattr(importlib.import_module(module), name)

    def request_start(self) -> str:
        result = self._function()(dict(REQUEST), None)
        status = result.get("status") if isinstance(result, dict) else result
        return f"auto-start ran in-process: {status}"


class NoAutoStart:
    def request_start(self) -> str:
        return "auto-start is off"


class AskOncePerCooldown:
    """One start request per outage from a container, not one per request: while the database
    starts (minutes), every request answers 503, and each used to invoke the auto-start function
    again. A request that failed to go out is not counted, so the next 503 asks again."""

    def __init__(
        self,
        inner: AutoStarter,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._asked_at: float | None = None
        self._lock = threading.Lock()  # the local API server runs containers on threads

    def request_start(self) -> str:
        with self._lock:
            now = self._clock()
            if self._asked_at is not None and now - self._asked_at < self._cooldown_s:
                return (
                    f"auto-start already requested {now - self._asked_at:.0f}s ago"
                    f" (asked at most once per {self._cooldown_s:g}s)"
                )
            status = self.inner.request_start()  # raises: not recorded, asked again next time
            self._asked_at = now
            return status
