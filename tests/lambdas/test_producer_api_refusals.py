"""What the producer API refuses before it touches the database, through the Lambda handler.

The database port is one nothing listens on: a request that reached the database would answer
503, so each status here shows the request was refused first - with its reason and field."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from cdc_ops.producer.autostart import NoAutoStart
from cdc_ops.producer.connections import postgres_database
from cdc_ops.settings import load_settings
from cdc_ops.tools.api_server import proxy_event
from cdc_ops.tools.stack.scratch import free_ports
from lambdas.producer_api.app import ProducerApi, make_service
from tests.lambdas.test_producer_api_e2e import loan_event

JSON = {"content-type": "application/json"}
MAX_BODY = 300_000


@pytest.fixture(scope="module")
def api() -> ProducerApi:
    (port,) = free_ports(1)
    settings = load_settings(
        database={"cluster_port": port, "proxy_port": port, "password": "p"},
        producer_api={"pool_timeout_s": 0.5, "max_body_bytes": MAX_BODY},
    )

    def make():
        service = make_service(settings, postgres_database, auto_start=False)
        service.auto_starter = NoAutoStart()
        return service

    return ProducerApi("producer-api-refusal-test", make, log_stream=io.StringIO())


def answer(
    api: ProducerApi,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> tuple[int, dict[str, Any]]:
    event = proxy_event(method, path, JSON if headers is None else headers, body, "127.0.0.1")
    if base64_body:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    result = api.handler(event, None)
    return result["statusCode"], json.loads(result["body"])


def event_with(**changes: Any) -> bytes:
    doc = loan_event("evt-refused")
    entity = doc["eventBody"]["entities"][0]
    for key, value in changes.items():
        if key == "attributes":
            entity["updatedAttributes"] = value
        else:
            doc["eventHeader"][key] = value
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/xml"},
        {"content-type": "multipart/form-data; boundary=x"},
        {"content-type": "application/x-www-form-urlencoded"},
        {},
    ],
    ids=["text", "xml", "multipart", "form", "none"],
)
def test_a_body_that_is_not_json_is_415(api: ProducerApi, headers: dict[str, str]) -> None:
    status, body = answer(api, "POST", "/api/v1/events", event_with(), headers)
    assert status == 415
    assert "Content-Type must be application/json" in body["message"]


def test_json_with_a_charset_or_in_capitals_is_json(api: ProducerApi) -> None:
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        status, _ = answer(
            api, "POST", "/api/v1/events", event_with(), {"Content-Type": content_type}
        )
        assert status == 503  # accepted, and on to the (absent) database


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"eventName": "Loan\u0000Created"}, "eventHeader.eventName", "NUL"),
        # pydantic refuses it itself
        ({"eventName": "Loan\ud800"}, "eventHeader.eventName", "unicode string"),
        ({"attributes": {"a": {"b": "x\u0000"}}}, "updatedAttributes", "a.b contains the NUL"),
        ({"attributes": {"k\u0000": 1}}, "updatedAttributes", "NUL"),
        ({"attributes": {"a": ["\udfff"]}}, "updatedAttributes", "a[0] contains a lone"),
        ({"uuid": "x" * 256}, "eventHeader.uuid", "at most 255"),
        ({"uuid": "evt\u0000"}, "eventHeader.uuid", "pattern"),
    ],
    ids=[
        "nul-name",
        "surrogate-name",
        "nul-attr",
        "nul-key",
        "surrogate-attr",
        "long-id",
        "nul-id",
    ],
)
def test_text_postgresql_cannot_store_is_422_naming_the_field(
    api: ProducerApi, change: dict[str, Any], field: str, words: str
) -> None:
    status, body = answer(api, "POST", "/api/v1/events", event_with(**change))
    assert status == 422, body
    assert any(field in f["field"] and words in f["message"] for f in body["fields"]), body


def test_a_number_beyond_a_double_is_422(api: ProducerApi) -> None:
    text = event_with(attributes={"amount": 1}).replace(b'"amount": 1', b'"amount": 1e400')
    status, body = answer(api, "POST", "/api/v1/events", text)
    assert status == 422
    assert "amount is a number out of range" in body["fields"][0]["message"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b'{"eventHeader": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a": ', "Expecting value"),
    ],
    ids=["nan", "infinity", "deep", "truncated"],
)
def test_what_is_not_json_is_400(api: ProducerApi, text: bytes, words: str) -> None:
    status, body = answer(api, "POST", "/api/v1/events", text)
    assert status == 400, body
    assert "not valid JSON" in body["message"] and words in body["message"]


def test_nesting_deeper_than_32_levels_is_422(api: ProducerApi) -> None:
    deep: Any = "leaf"
    for _ in range(40):
        deep = {"n": deep}
    status, body = answer(api, "POST", "/api/v1/events", event_with(attributes=deep))
    assert status == 422
    assert "nested deeper than 32 levels" in body["fields"][0]["message"]


def test_the_size_limit_is_exact(api: ProducerApi) -> None:
    def padded(size: int) -> bytes:
        doc = event_with(attributes={"pad": ""})
        return doc.replace(b'"pad": ""', b'"pad": "' + b"p" * (size - len(doc)) + b'"')

    assert answer(api, "POST", "/api/v1/events", padded(MAX_BODY))[0] == 503
    assert answer(api, "POST", "/api/v1/events", padded(MAX_BODY - 1))[0] == 503
    status, body = answer(api, "POST", "/api/v1/events", padded(MAX_BODY + 1))
    assert status == 413 and str(MAX_BODY) in body["message"]
    # measured after base64 decoding, as API Gateway hands the function the decoded size
    assert answer(api, "POST", "/api/v1/events", padded(MAX_BODY), base64_body=True)[0] == 503


def test_base64_bodies(api: ProducerApi) -> None:
    status, body = answer(api, "POST", "/api/v1/events", b"\xff\xfe{}", base64_body=True)
    assert status == 400 and "not UTF-8" in body["message"]
    event = proxy_event("POST", "/api/v1/events", JSON, b"{}", "127.0.0.1")
    event["body"], event["isBase64Encoded"] = "not base64!", True
    result = api.handler(event, None)
    assert result["statusCode"] == 400 and "not valid base64" in result["body"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        (f"offset={2**63}", "offset"),
    ],
)
def test_a_query_parameter_out_of_range_is_422(api: ProducerApi, query: str, field: str) -> None:
    status, body = answer(api, "GET", f"/cars?{query}")
    assert status == 422
    assert any(field in f["field"] for f in body["fields"]), body


@pytest.mark.parametrize("path_id", ["x" * 256, "bad%00id", "a b", "ünï"])
def test_an_id_that_cannot_exist_is_422_not_looked_up(api: ProducerApi, path_id: str) -> None:
    for route in ("/api/v1/events/", "/cars/"):
        status, body = answer(api, "GET", route + path_id)
        assert status == 422, (route, body)
        assert body["fields"][0]["field"] in ("path.event_id", "path.car_id"), body


def test_a_body_that_is_not_an_object_is_422_or_400(api: ProducerApi) -> None:
    for text in (b"[]", b"42", b'"text"', b"null"):
        status, _ = answer(api, "POST", "/api/v1/events", text)
        assert status in (400, 422), text
    assert answer(api, "POST", "/api/v1/events", b"")[0] == 400


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/cars", "GET, POST"),
        ("DELETE", "/cars/c-1", "GET"),
        ("GET", "/api/v1/events", "POST"),
    ],
)
def test_a_method_a_path_does_not_take_is_405_naming_what_it_takes(
    api: ProducerApi, method: str, path: str, allow: str
) -> None:
    result = api.handler(proxy_event(method, path, JSON, b"", "127.0.0.1"), None)
    assert result["statusCode"] == 405
    assert result["multiValueHeaders"]["Allow"] == [allow]
    assert answer(api, "GET", "/nowhere")[0] == 404


def car(**extra: Any) -> bytes:
    return json.dumps({"make": "Volvo", "model": "V70", "year": 2004, **extra}).encode()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (car(note="x\u0000"), "note", "NUL"),
        (car(**{"k\u0000": 1}), "k\u0000", "attribute name contains the NUL"),
        (car(note="\udbff"), "note", "lone surrogate"),
        (car(year="2004"), "year", "valid integer"),
        (car(mileage=False), "mileage", "valid integer"),
    ],
    ids=["nul", "nul-name", "surrogate", "year-as-text", "mileage-as-bool"],
)
def test_a_car_attribute_that_cannot_be_stored_is_named(
    api: ProducerApi, body: bytes, field: str, words: str
) -> None:
    status, answer_body = answer(api, "POST", "/cars", body)
    assert status == 422, answer_body
    assert answer_body["fields"][0]["field"] == field
    assert words in answer_body["fields"][0]["message"]


def test_a_number_too_long_for_python_is_422_naming_it(api: ProducerApi) -> None:
    status, body = answer(api, "POST", "/cars", car(weight=1).replace(b"1}", b"1" * 5000 + b"}"))
    assert status == 422
    assert body["fields"][0] == {
        "field": "weight",
        "message": "weight is a number of more than 4300 digits",
    }
    status, body = answer(api, "POST", "/cars", car().replace(b"2004", b"1" + b"0" * 5000))
    assert status == 422 and body["fields"][0]["field"] == "year"
    long_attribute = event_with(attributes={"a": 1}).replace(b'"a": 1', b'"a": 1' + b"0" * 5000)
    status, body = answer(api, "POST", "/api/v1/events", long_attribute)
    assert status == 422
    assert "a is a number of more than 4300 digits" in body["fields"][0]["message"]


def test_path_ids_are_percent_decoded_as_api_gateway_passes_them_encoded(api: ProducerApi) -> None:
    # a:b is a valid id: decoded, it reaches the (absent) database
    assert answer(api, "GET", "/cars/fz%3Aa%40b")[0] == 503
    assert answer(api, "GET", "/api/v1/events/evt%2D1")[0] == 503
    status, body = answer(api, "GET", "/cars/bad%00id")
    assert status == 422 and body["fields"][0]["field"] == "path.car_id"
