"""Asking the auto-start function to start the database after a connection failure.

In aws the producer Lambda invokes the auto-start Lambda asynchronously (it answers 503 at once
and the client retries); locally the same handler is called in-process. "off" for DSQL, which has
no stop/start.
"""

from __future__ import annotations

import importlib
import json
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
