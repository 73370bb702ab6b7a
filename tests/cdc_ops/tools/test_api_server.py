"""The API Gateway adapter of `cdc-ops api serve`: its pure parts, and a real server on a free port
in front of a handler function (no database), spoken to over raw sockets."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest

from cdc_ops.tools.api_server import (
    GATEWAY_MAX_BODY,
    LAMBDA_MAX_EVENT,
    GatewayError,
    content_length,
    event_size,
    is_binary,
    lambda_response,
    make_server,
    proxy_event,
    read_body,
    read_chunked,
    split_target,
)

# --- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "length"),
    [([], None), (["0"], 0), (["17"], 17), ([" 17 "], 17), (["17", "17"], 17), (["17, 17"], 17)],
)
def test_content_length_accepts_one_non_negative_integer(values, length) -> None:
    assert content_length(values) == length


@pytest.mark.parametrize(
    ("values", "status", "words"),
    [
        (["abc"], 400, "'abc' is not a non-negative integer"),
        (["-1"], 400, "'-1' is not a non-negative integer"),
        (["+1"], 400, "'+1' is not"),
        (["1_0"], 400, "'1_0' is not"),
        (["²"], 400, "'²' is not"),
        (["1.5"], 400, "'1.5' is not"),
        ([""], 400, "'' is not"),
        (["1", "2"], 400, "conflicting Content-Length values: 1, 2"),
        (["1, 2"], 400, "conflicting Content-Length values"),
        ([str(GATEWAY_MAX_BODY + 1)], 413, "Request Too Long"),
        (["9" * 5000], 413, "Request Too Long"),
    ],
)
def test_content_length_refuses_anything_else(values, status, words) -> None:
    with pytest.raises(GatewayError) as refused:
        content_length(values)
    assert refused.value.status == status and words in refused.value.message


def test_content_length_at_the_gateway_limit_and_with_leading_zeros() -> None:
    assert content_length([str(GATEWAY_MAX_BODY)]) == GATEWAY_MAX_BODY
    assert content_length(["0" * 100 + "5"]) == 5


def test_a_chunked_body_is_joined_and_its_trailers_dropped() -> None:
    wire = (
        b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\nnext"
    )
    rfile = io.BytesIO(wire)
    assert read_chunked(rfile) == b"Wikipedia in\r\n\r\nchunks."
    assert rfile.read() == b"next"  # nothing of the next request was read


@pytest.mark.parametrize(
    ("wire", "status", "words"),
    [
        (b"zz\r\nab\r\n0\r\n\r\n", 400, "bad chunk size"),
        (b"-1\r\n", 400, "bad chunk size"),
        (b"5\r\nab", 400, "ended after 2 of 5 bytes"),
        (b"2\r\nabXY0\r\n\r\n", 400, "not followed by CRLF"),
        (b"2\r\nab\r\n", 400, "ended inside a chunk size line"),
        (b"0\r\nX: 1\r\n", 400, "ended inside its trailers"),
        (b"0\r\n" + b"X: 1\r\n" * 101 + b"\r\n", 400, "too many trailers"),
        (b"ffffffffff\r\n", 413, "Request Too Long"),
        (b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", 413, "Request Too Long"),
    ],
)
def test_a_malformed_or_oversized_chunked_body_is_refused(wire, status, words) -> None:
    with pytest.raises(GatewayError) as refused:
        read_chunked(io.BytesIO(wire), limit=10)
    assert refused.value.status == status and words in refused.value.message


def _headers(*pairs: tuple[str, str]) -> Message:
    message = Message()
    for key, value in pairs:
        message[key] = value
    return message


def test_read_body_by_length_chunked_or_none() -> None:
    assert read_body(io.BytesIO(b"abcdef"), _headers(("Content-Length", "3"))) == b"abc"
    assert read_body(io.BytesIO(b"abc"), _headers()) == b""
    chunked = _headers(("Transfer-Encoding", "chunked"))
    assert read_body(io.BytesIO(b"3\r\nabc\r\n0\r\n\r\n"), chunked) == b"abc"


@pytest.mark.parametrize(
    ("pairs", "words"),
    [
        ((("Content-Length", "3"), ("Transfer-Encoding", "chunked")), "both Content-Length"),
        ((("Transfer-Encoding", "gzip, chunked"),), "unsupported Transfer-Encoding"),
        ((("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")), "unsupported"),
        ((("Content-Length", "10"),), "ended after 3 of 10 bytes"),
    ],
)
def test_read_body_refuses_ambiguous_framing(pairs, words) -> None:
    with pytest.raises(GatewayError) as refused:
        read_body(io.BytesIO(b"abc"), _headers(*pairs))
    assert refused.value.status == 400 and words in refused.value.message


@pytest.mark.parametrize(
    ("target", "path", "query"),
    [
        ("/cars?limit=5", "/cars", "limit=5"),
        ("//cars", "//cars", ""),
        ("/cars/%00", "/cars/%00", ""),
        ("/cars/a#frag", "/cars/a", ""),
        ("/cars/\x00\x7f", "/cars/%00%7F", ""),
        ("/cars/\xc3\xa9", "/cars/%C3%A9", ""),  # 'é' as UTF-8, read as latin-1 by http.server
        ("http://example.com/cars?x=1", "/cars", "x=1"),
        ("http://example.com", "/", ""),
        ("/", "/", ""),
    ],
)
def test_a_request_target_is_split_and_its_path_kept_encoded(target, path, query) -> None:
    assert split_target(target) == (path, query)


@pytest.mark.parametrize("target", ["*", "cars", "", "%2Fcars"])
def test_a_target_that_is_no_path_is_400(target) -> None:
    with pytest.raises(GatewayError) as refused:
        split_target(target)
    assert refused.value.status == 400


def test_a_body_that_is_not_utf8_reaches_the_function_as_replacement_characters() -> None:
    event = proxy_event(
        "POST", "/api/v1/events", {"Content-Type": "application/json"}, b'{"a": "\xff\xfe"}', "ip"
    )
    assert event["body"] == '{"a": "\ufffd\ufffd"}' and event["isBase64Encoded"] is False
    # no binary media types are declared: even an octet stream arrives as text
    raw = proxy_event("POST", "/x", {"content-type": "application/octet-stream"}, b"\x80", "ip")
    assert (raw["body"], raw["isBase64Encoded"]) == ("\ufffd", False)


def test_a_binary_media_type_arrives_base64_encoded() -> None:
    event = proxy_event(
        "POST",
        "/x",
        {"Content-Type": "image/png; q=1"},
        b"\x89PNG\xff",
        "ip",
        binary_media_types=("image/*",),
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\xff"
    assert is_binary("Application/Octet-Stream", ["application/octet-stream"])
    assert is_binary("text/plain", ["*/*"])
    assert not is_binary("application/json", ["image/*", "application/octet-stream"])
    assert not is_binary("", ["image/*"])


def test_the_proxy_event_is_shaped_like_api_gateway_rest() -> None:
    event = proxy_event(
        "GET",
        "/cars/c%2F1?limit=5&limit=7&x=%ff&empty=",
        {"X-One": "b"},
        b"",
        "10.0.0.1",
        multi_headers={"X-One": ["a", "b"]},
    )
    assert event["path"] == "/cars/c%2F1"
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "cars/c/1"}
    assert event["queryStringParameters"] == {"limit": "7", "x": "\ufffd", "empty": ""}
    assert event["multiValueQueryStringParameters"]["limit"] == ["5", "7"]
    assert event["headers"] == {"X-One": "b"}
    assert event["multiValueHeaders"] == {"X-One": ["a", "b"]}
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["requestContext"]["identity"]["sourceIp"] == "10.0.0.1"
    assert event["requestContext"]["requestId"]
    root = proxy_event("GET", "/", {}, b"", "ip")
    assert (root["resource"], root["pathParameters"], root["queryStringParameters"]) == (
        "/",
        None,
        None,
    )


def test_event_size_counts_the_invocation_bytes() -> None:
    event = proxy_event("POST", "/x", {}, "é".encode() * 1000, "ip")
    assert event_size(event) == len(json.dumps(event, ensure_ascii=False).encode())
    assert event_size(event) > 2000


def test_a_proxy_response_becomes_status_headers_and_bytes() -> None:
    status, headers, data = lambda_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Bad": "a\r\nSet-Cookie: x"},
            "multiValueHeaders": {"X-Many": ["1", "2"], "X-Name": ["\u20ac"]},
            "body": '{"id": "\ud800"}',
            "isBase64Encoded": False,
        }
    )
    assert status == 201
    assert headers == {
        "Content-Type": "application/json",
        "X-Bad": "a  Set-Cookie: x",  # never a second header line
        "X-Many": "1, 2",
        "X-Name": "?",
    }
    assert data == b'{"id": "?"}'
    assert lambda_response({"statusCode": "200", "body": "aGk=", "isBase64Encoded": True})[2] == (
        b"hi"
    )
    assert lambda_response({"statusCode": 204}) == (204, {}, b"")


@pytest.mark.parametrize(
    "result",
    [
        None,
        "ok",
        {},
        {"statusCode": True},
        {"statusCode": 99},
        {"statusCode": 600},
        {"statusCode": "abc"},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_what_is_no_proxy_response_is_502(result) -> None:
    with pytest.raises(GatewayError) as malformed:
        lambda_response(result)
    assert (malformed.value.status, malformed.value.message) == (502, "Internal server error")


# --- a real server ------------------------------------------------------------------------------


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def record(self) -> None:
        self.count += 1


class Function:
    """A Lambda handler that records its events and answers what a test tells it to."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.answer: Any = None
        self.fail = False

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        if self.fail:
            raise RuntimeError("the function failed")
        if self.answer is not None:
            return self.answer
        body = {"method": event["httpMethod"], "path": event["path"], "body": event["body"]}
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body),
        }


@pytest.fixture
def served() -> Iterator[tuple[int, Function, Counter]]:
    function, counter = Function(), Counter()
    server = make_server(
        function,
        "127.0.0.1",
        0,
        counter,
        documents={"/openapi.json": b'{"openapi": "3.1.0"}'},
        read_timeout_s=0.5,
        access_log=False,
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], function, counter
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def exchange(port: int, wire: bytes, timeout: float = 5) -> list[tuple[int, dict[str, str], bytes]]:
    """Send raw bytes, half-close, and read every response until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(wire)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return parse_responses(data)


def parse_responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    responses = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", 0))
        body, data = data[:length], data[length:]
        responses.append((int(status_line.split()[1]), headers, body))
    return responses


def one(port: int, wire: bytes) -> tuple[int, dict[str, str], Any]:
    (response,) = exchange(port, wire)
    status, headers, body = response
    return status, headers, json.loads(body) if body else None


def request(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: x", "Connection: close"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_request_reaches_the_function_and_is_counted(served) -> None:
    port, function, counter = served
    status, headers, body = one(port, request("POST", "/cars", b'{"a":1}', Content_Length="7"))
    assert (status, body) == (200, {"method": "POST", "path": "/cars", "body": '{"a":1}'})
    assert headers["content-type"] == "application/json"
    assert counter.count == 1


@pytest.mark.parametrize(
    ("length", "status", "words"),
    [
        ("abc", 400, "'abc' is not a non-negative integer"),
        ("-5", 400, "'-5' is not a non-negative integer"),
        ("1, 2", 400, "conflicting Content-Length"),
        (str(GATEWAY_MAX_BODY + 1), 413, "Request Too Long"),
        ("9" * 400, 413, "Request Too Long"),
    ],
)
def test_a_bad_content_length_is_answered_by_the_gateway(served, length, status, words) -> None:
    port, function, counter = served
    got_status, headers, body = one(port, request("POST", "/cars", b"{}", Content_Length=length))
    assert got_status == status and words in body["message"]
    assert headers["content-type"] == "application/json"
    assert function.events == [] and counter.count == 1  # API Gateway counts what it refuses


def test_a_client_that_stalls_mid_body_gets_408_and_frees_its_thread(served) -> None:
    port, function, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as stalled:
        stalled.sendall(request("POST", "/cars", b'{"a"', Content_Length="100"))
        began = time.monotonic()
        # meanwhile another client is served at once
        status, _, _ = one(port, request("GET", "/cars"))
        assert status == 200 and time.monotonic() - began < 0.4
        data = b""
        while chunk := stalled.recv(65536):
            data += chunk
        waited = time.monotonic() - began
    ((status, headers, body),) = parse_responses(data)
    assert status == 408 and json.loads(body) == {"message": "timed out reading the request"}
    assert headers["connection"] == "close"
    assert 0.4 <= waited < 3
    assert [e["httpMethod"] for e in function.events] == ["GET"]


def test_a_chunked_body_reaches_the_function_whole(served) -> None:
    port, function, _ = served
    wire = request(
        "POST", "/cars", b'3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n', Transfer_Encoding="chunked"
    )
    status, _, body = one(port, wire)
    assert (status, body["body"]) == (200, '{"a":1}')


@pytest.mark.parametrize(
    ("wire_body", "headers", "words"),
    [
        (b"zz\r\n", {"Transfer_Encoding": "chunked"}, "bad chunk size"),
        (b"3\r\nabc\r\n0\r\n\r\n", {"Transfer_Encoding": "gzip"}, "unsupported Transfer-Encoding"),
        (
            b"3\r\nabc\r\n0\r\n\r\n",
            {"Transfer_Encoding": "chunked", "Content_Length": "3"},
            "both Content-Length",
        ),
    ],
)
def test_bad_framing_is_400(served, wire_body, headers, words) -> None:
    port, function, _ = served
    status, _, body = one(port, request("POST", "/cars", wire_body, **headers))
    assert status == 400 and words in body["message"] and function.events == []


def test_a_non_utf8_body_arrives_as_replacement_characters(served) -> None:
    port, _, _ = served
    raw = b'{"make": "\xc3\x28\xff"}'
    status, _, body = one(
        port,
        request(
            "POST", "/cars", raw, Content_Length=str(len(raw)), Content_Type="application/json"
        ),
    )
    assert (status, body["body"]) == (200, '{"make": "\ufffd(\ufffd"}')


def test_every_method_of_any_reaches_the_function_and_others_are_405(served) -> None:
    port, function, _ = served
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        status, _, body = one(port, request(method, "/cars/1"))
        assert (status, body["method"]) == (200, method)
    for method in ("TRACE", "CONNECT", "FOO", "get"):
        status, headers, body = one(port, request(method, "/cars"))
        assert status == 405 and body == {"message": f"method {method} is not allowed"}
        assert "GET" in headers["allow"]
    assert len(function.events) == 6


def test_head_answers_the_headers_without_the_body(served) -> None:
    port, function, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request("HEAD", "/cars"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and rest == b""
    length = next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-l"))
    assert int(length.split(b":")[1]) > 0  # what GET would have sent
    assert function.events[0]["httpMethod"] == "HEAD"


def test_a_failing_or_malformed_function_is_502(served) -> None:
    port, function, _ = served
    function.fail = True
    assert one(port, request("GET", "/cars"))[::2] == (502, {"message": "Internal server error"})
    function.fail = False
    function.answer = {"statusCode": "nope"}
    assert one(port, request("GET", "/cars"))[::2] == (502, {"message": "Internal server error"})


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /cars HTTP/9.9\r\n\r\n", 400),
        (b"GET /cars HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /cars HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
        (b"GET /cars HTTP/1.1\r\n" + b"X: 1\r\n" * 101 + b"\r\n", 431),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
    ],
)
def test_a_malformed_request_is_a_json_4xx(served, wire, status) -> None:
    port, function, _ = served
    got, headers, body = one(port, wire)
    assert got == status and isinstance(body["message"], str)
    assert headers["content-type"] == "application/json"
    assert function.events == []


def test_two_requests_on_one_connection(served) -> None:
    port, function, _ = served
    first = b"GET /cars/1 HTTP/1.1\r\nHost: x\r\n\r\n"
    second = b"POST /cars HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    responses = exchange(port, first + second)
    assert [r[0] for r in responses] == [200, 200]
    assert [json.loads(r[2])["path"] for r in responses] == ["/cars/1", "/cars"]


def test_expect_100_continue_is_refused_before_the_body_when_too_long(served) -> None:
    port, _, _ = served
    wire = request("POST", "/cars", Content_Length=str(GATEWAY_MAX_BODY + 1), Expect="100-continue")
    status, _, body = one(port, wire)
    assert (status, body) == (413, {"message": "Request Too Long"})


def test_expect_100_continue_then_the_body(served) -> None:
    port, _, _ = served
    wire = request("POST", "/cars", b"{}", Content_Length="2", Expect="100-continue")
    responses = exchange(port, wire)
    assert [r[0] for r in responses] == [100, 200]


def test_an_event_over_lambdas_limit_is_413_and_never_invoked(served) -> None:
    port, function, _ = served
    body = b'"' + b"\\u0000" * (LAMBDA_MAX_EVENT // 6 + 1) + b'"'  # under 10 MB on the wire
    assert len(body) < GATEWAY_MAX_BODY
    status, _, answer = one(port, request("POST", "/cars", body, Content_Length=str(len(body))))
    assert (status, answer) == (413, {"message": "Request Too Long"})
    assert function.events == []


def test_the_openapi_document_is_served_and_not_counted(served) -> None:
    port, function, counter = served
    status, headers, body = one(port, request("GET", "/openapi.json"))
    assert (status, body, headers["content-type"]) == (
        200,
        {"openapi": "3.1.0"},
        "application/json",
    )
    assert function.events == [] and counter.count == 0
    # other methods on that path are the API's
    assert one(port, request("POST", "/openapi.json"))[2]["path"] == "/openapi.json"


def test_http_0_9_is_refused_with_a_status_line(served) -> None:
    port, function, _ = served
    status, _, body = one(port, b"GET /cars\r\n")
    assert (status, body) == (400, {"message": "HTTP/0.9 is not supported"})
    assert function.events == []


def test_answers_on_a_kept_alive_connection_are_not_held_back(served) -> None:
    port, function, _ = served
    # each answer is two writes (headers, body): with Nagle's algorithm on, every second write
    # waited for the client's delayed ACK, 40 ms a request
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        reader = sock.makefile("rb")
        began = time.monotonic()
        for _ in range(50):
            sock.sendall(b"GET /cars HTTP/1.1\r\nHost: x\r\n\r\n")
            assert reader.readline().startswith(b"HTTP/1.1 200")
            length = 0
            while (line := reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
        elapsed = time.monotonic() - began
    assert len(function.events) == 50
    assert elapsed < 1.5  # 50 x 40 ms = 2 s when held back
