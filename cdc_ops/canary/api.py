"""The canary's way into the producer API: over HTTP (the deployed API Gateway, or `cdc-ops api
serve`), or locally its handler called in this process with the event API Gateway would send.
Either way a canary goes through the same validation, transaction and tables as a business
event."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

import httpx

if TYPE_CHECKING:
    from cdc_ops.settings import Settings

EVENTS_PATH = "/api/v1/events"


class CanaryProducerApi(Protocol):
    def post_event(self, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST the document to /api/v1/events: the status and the JSON body of the answer."""
        ...

    def close(self) -> None: ...


def _json(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        return {"message": text[:300]}
    return body if isinstance(body, dict) else {"body": body}


class HttpProducerApi:
    def __init__(self, url: str, timeout_s: float = 15.0) -> None:
        self._url = url.rstrip("/") + EVENTS_PATH
        self._http = httpx.Client(timeout=timeout_s)

    def post_event(self, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = self._http.post(self._url, json=document)
        return answer.status_code, _json(answer.text)

    def close(self) -> None:
        self._http.close()


class InProcessProducerApi:
    """The producer API's PostgreSQL handler in this process (env=local), without its
    auto-start: a canary never starts a database someone stopped."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._api: Any = None

    def _handler(self) -> Any:
        if self._api is None:
            # the Lambda's own code, imported only here: the Lambda zips do not carry this path
            from cdc_ops.producer.connections import postgres_database
            from lambdas.producer_api.app import ProducerApi, make_service

            settings = self._settings
            self._api = ProducerApi(
                "producer-api-canary",
                lambda: make_service(settings, postgres_database, auto_start=False),
            )
        return self._api

    def post_event(self, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        from cdc_ops.tools.api_server import proxy_event

        body = json.dumps(document).encode()
        event = proxy_event(
            "POST", EVENTS_PATH, {"content-type": "application/json"}, body, "127.0.0.1"
        )
        result = self._handler().handler(event, None)
        return int(result["statusCode"]), _json(result.get("body") or "")

    def close(self) -> None:
        if self._api is not None and self._api._service is not None:
            self._api.service.database.close()
