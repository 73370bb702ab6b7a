"""POST /api/v1/events is answered without Powertools' resolver; its answers must be the
resolver's, request for request. Each request goes both ways and the answers are compared."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from cdc_ops.errors import ConflictError, DatabaseUnavailable
from cdc_ops.producer.autostart import NoAutoStart
from cdc_ops.producer.repository import SaveResult
from cdc_ops.tools.api_server import proxy_event
from lambdas.producer_api.app import REQUEST_ID_HEADER, ProducerApi, ProducerService
from tests.lambdas.test_producer_api_e2e import loan_event


class RememberingRepository:
    """Stored documents by id, as the table holds them: enough for created, replay, conflict;
    ids starting "down" behave as a stopped database does."""

    def __init__(self) -> None:
        self.stored: dict[str, Any] = {}

    def save_event(self, event, document) -> SaveResult:
        key = event.event_header.uuid
        if key.startswith("down"):
            raise DatabaseUnavailable("database did not answer")
        if key not in self.stored:
            self.stored[key] = document
            return SaveResult(key, created=True)
        if self.stored[key] == document:
            return SaveResult(key, created=False)
        raise ConflictError(f"event {key} already exists with different content")


def make_api() -> ProducerApi:
    service = ProducerService(
        database=None,
        repository=RememberingRepository(),
        auto_starter=NoAutoStart(),
        max_body_bytes=1 << 20,
        retry_after_s=120,
    )
    return ProducerApi("producer-api-direct-test", lambda: service, log_stream=io.StringIO())


def requests() -> list[tuple[str, bytes, bool]]:
    changed = loan_event("evt-1")
    changed["eventBody"]["entities"][0]["updatedAttributes"] = {"other": 1}
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    nul = loan_event("evt-nul")
    nul["eventBody"]["entities"][0]["updatedAttributes"] = {"a": "x\u0000"}
    texts = [
        ("created", json.dumps(loan_event("evt-1")).encode()),
        ("replayed", json.dumps(loan_event("evt-1")).encode()),
        ("conflict", json.dumps(changed).encode()),
        ("unavailable", json.dumps(loan_event("down-1")).encode()),
        ("empty object", b"{}"),
        ("missing uuid", json.dumps({"eventHeader": {"eventName": "x"}}).encode()),
        ("array", b"[1, 2]"),
        ("number", b"42"),
        ("null", b"null"),
        ("empty", b""),
        ("truncated", b'{"eventHeader": '),
        ("nan", b'{"eventHeader": NaN}'),
        ("deep", json.dumps({"eventHeader": deep}).encode()),
        ("too deep to parse", b"[" * 5000 + b"]" * 5000),
        ("nul", json.dumps(nul).encode()),
        ("unknown key", json.dumps({**loan_event("evt-2"), "extra": 1}).encode()),
        ("dupe entity", json.dumps(loan_event("evt-3", "a", "a")).encode()),
        ("unicode", json.dumps(loan_event("evt-ü")).encode()),
    ]
    out = [(name, body, False) for name, body in texts]
    out.append(("base64", json.dumps(loan_event("evt-b64")).encode(), True))
    return out


def answers(api: ProducerApi, body: bytes, base64_body: bool, resolver: bool) -> dict[str, Any]:
    event = proxy_event("POST", "/api/v1/events", {"content-type": "application/json"}, body, "h")
    if base64_body:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    result = api.app.resolve(event, None) if resolver else api.handler(event, None)
    headers = {k: list(v) for k, v in result["multiValueHeaders"].items()}
    headers.pop(REQUEST_ID_HEADER, None)
    return {
        "status": result["statusCode"],
        "headers": headers,
        "body": json.loads(result["body"]),
        "base64": result["isBase64Encoded"],
    }


def test_every_request_is_answered_as_the_resolver_answers_it() -> None:
    direct, resolver = make_api(), make_api()
    seen = set()
    for name, body, base64_body in requests():
        mine = answers(direct, body, base64_body, resolver=False)
        theirs = answers(resolver, body, base64_body, resolver=True)
        assert mine == theirs, name
        seen.add(mine["status"])
    assert seen == {200, 201, 400, 409, 422, 503}


@pytest.mark.parametrize("path", ["/api/v1/events/", "/api/v1/events?x=1"])
def test_other_paths_still_go_to_the_resolver(path: str) -> None:
    event = proxy_event("POST", path, {"content-type": "application/json"}, b"{}", "h")
    assert make_api().handler(event, None)["statusCode"] in (404, 422)
