"""REST calls with the retries the services document as safe: 409 while a Connect cluster
rebalances, 429 and 5xx, and connection errors, with exponential back-off (capped at 30 s)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from cdc_ops.errors import CdcOpsError


class RestError(CdcOpsError):
    """The service refused a request or stayed unreachable; the message names the call."""


class RestNotFound(RestError):
    """404."""


_TRANSIENT = {409, 429, 500, 502, 503, 504}


class RetryingRest:
    def __init__(
        self,
        http: httpx.Client,
        attempts: int = 5,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._sleep = sleep

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self._attempts:
                    raise RestError(f"{method} {url}: {exc}") from exc
            else:
                if response.status_code == 404:
                    raise RestNotFound(f"{method} {url}: 404 {_message(response)}")
                if response.status_code not in _TRANSIENT or attempt == self._attempts:
                    if response.status_code >= 400:
                        raise RestError(
                            f"{method} {url}: {response.status_code} {_message(response)}"
                        )
                    return response
            self._sleep(min(self._backoff_s * 2 ** (attempt - 1), 30))
        raise AssertionError("unreachable")


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # Confluent Cloud: {"error": {"code", "message"}}
            return str(error.get("message", error))
        return str(body.get("message", body))
    return str(body)[:200]
