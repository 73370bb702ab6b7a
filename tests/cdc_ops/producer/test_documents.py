"""JSON the producer API can store: the strict parse and the check for what PostgreSQL refuses."""

from __future__ import annotations

import json

import pytest

from cdc_ops.producer.documents import parse_json, unstorable
from cdc_ops.producer.requests import json_spelled_lowercase, refusal


def test_storable_documents_pass() -> None:
    assert unstorable({"a": [1, 2.5, "ü", {"b": None, "c": True}], "d": "\u2028"}) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"a": {"b": ["ok", "x\u0000"]}}, "a.b[1] contains the NUL character"),
        ({"a": "\ud83d"}, "a contains a lone surrogate (\\ud83d)"),
        ({"ok": 1, "k\u0000ey": 2}, "key 'k\\x00ey' contains the NUL"),
        ({"n": float("inf")}, "n is a number out of range"),
        ([float("nan")], "[0] is a number out of range"),
        ("\u0000", "the value contains the NUL"),
    ],
)
def test_what_postgresql_cannot_store_is_named_by_its_place(value, problem: str) -> None:
    assert problem in unstorable(value)


def test_depth_is_bounded_without_recursion() -> None:
    deep: object = 1
    for _ in range(10_000):
        deep = [deep]
    assert "nested deeper than 32 levels" in unstorable(deep)
    shallow: object = 1
    for _ in range(32):
        shallow = {"n": shallow}
    assert unstorable(shallow) is None


@pytest.mark.parametrize(
    ("text", "words"),
    [("NaN", "NaN is not"), ("[Infinity]", "Infinity is not")],
)
def test_the_strict_parse_answers_decode_errors(text: str, words: str) -> None:
    with pytest.raises(json.JSONDecodeError, match=words):
        parse_json(text)
    with pytest.raises(json.JSONDecodeError, match="nested too deeply"):
        parse_json("[" * 100_000 + "]" * 100_000)
    assert parse_json('{"a": 1e300}') == {"a": 1e300}
    # kept as digits, for the check to name its place
    long = parse_json('{"a": [' + "7" * 5000 + "]}")
    assert unstorable(long) == "a[0] is a number of more than 4300 digits"


def event(body: str, content_type: str | None = "application/json", method: str = "POST"):
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return {"httpMethod": method, "headers": headers, "body": body, "isBase64Encoded": False}


def test_refusals_before_routing() -> None:
    assert refusal(event("{}"), 10) is None
    assert refusal(event("x" * 11), 10).status == 413
    assert refusal(event("{}", "text/plain"), 10).status == 415
    assert refusal(event("{}", None), 10).message.endswith("none was given")
    assert refusal(event("", None), 10) is None  # no body: the router says it is required
    assert refusal(event("{}", "text/plain", method="GET"), 10) is None  # GET bodies are ignored
    # a body that is not Unicode is measured, not crashed on
    assert refusal(event("\ud800" * 4, "application/json"), 10).status == 413


def test_json_content_types_are_lowered_for_the_router() -> None:
    e = event("{}", "Application/JSON; charset=UTF-8")
    assert json_spelled_lowercase(e)["headers"] == {"Content-Type": "application/json"}
    plain = event("{}", "application/json; charset=utf-8")
    assert json_spelled_lowercase(plain) is plain


def test_json_in_another_charset_is_415() -> None:
    assert refusal(event("{}", "application/json; charset=utf-16"), 10).status == 415
    assert refusal(event("{}", 'application/json; charset="UTF-8"'), 10) is None
