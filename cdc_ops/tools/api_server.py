"""`cdc-ops api serve`: a producer API handler on 127.0.0.1 behind an API-Gateway-shaped adapter.

Each HTTP request becomes an API Gateway REST (v1) proxy event, the handler's proxy response
becomes the HTTP response, and each request is counted as `AWS/ApiGateway Count` in (moto's)
CloudWatch. No web framework: the standard library's threading HTTP server is enough here.

Every request gets an answer with a JSON body, as API Gateway gives one:
- a body is passed as a UTF-8 string. The deployed REST API declares no binaryMediaTypes
  (terraform/modules/lambda), so API Gateway never base64-encodes a request body: bytes that are
  not UTF-8 reach the function as U+FFFD. `binary_media_types` makes a matching content type
  arrive base64-encoded (`isBase64Encoded`), as it would on an API that declares them;
- the body is read by its Content-Length or chunked (`Transfer-Encoding: chunked`). A length that
  is not one non-negative integer, both headers at once, another transfer coding, or a malformed
  chunk is 400 `{"message": ...}`; over API Gateway's 10 MB, or an event over Lambda's 6 MiB
  invocation limit, 413 `{"message": "Request Too Long"}`;
- a client that stops sending mid-request gets 408 after `read_timeout_s` (10 s) and the
  connection is closed: a stalled client never holds a thread;
- GET, POST, PUT, PATCH, DELETE, HEAD and OPTIONS (the `ANY` method the API is deployed with)
  reach the function, HEAD answered without its body; any other method is 405;
- a function that raises, or answers something that is not a proxy response, is 502
  `{"message": "Internal server error"}`, as API Gateway answers a failed integration.
Only deliberate departures: a malformed request line or headers is a JSON 400/414/431 (an HTTP
version the server does not speak is 400, not 505; an unknown transfer coding 400, not 501), so
nothing a client sends is a 5xx. `documents` (GET /openapi.json with `cdc-ops api serve`) are
answered by the adapter itself and not counted as API activity: API Gateway would not see them.
"""

from __future__ import annotations

import base64
import importlib
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any
from urllib.parse import parse_qs, unquote, urlsplit

from cdc_ops.tools.api_activity import ApiActivityPublisher

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

HANDLER_MODULES = {
    "pg": "lambdas.producer_api_pg.handler",
    "dsql": "lambdas.producer_api_dsql.handler",
}
# API Gateway refuses payloads over 10 MB before the function sees them.
GATEWAY_MAX_BODY = 10 * 1024 * 1024
# Lambda refuses a synchronous invocation whose event (the body and the rest of the proxy event,
# as JSON) is over 6 MiB; API Gateway then answers 413 too.
LAMBDA_MAX_EVENT = 6 * 1024 * 1024
# the deployed REST API declares none (terraform/modules/lambda/main.tf)
BINARY_MEDIA_TYPES: tuple[str, ...] = ()
# what API Gateway's ANY method carries to the function
GATEWAY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
READ_TIMEOUT_S = 10.0
_MAX_LINE = 65536
_MAX_TRAILERS = 100
_JSON = {"Content-Type": "application/json"}

OPENAPI_TITLE = "cdc-ops producer API"
OPENAPI_VERSION = "1.0.0"
OPENAPI_DESCRIPTION = (
    "Business events and car entities written to Aurora PostgreSQL or Aurora DSQL, where change "
    "data capture carries them to Kafka. One event is one transaction over business_events, "
    "event_headers and entities. A replayed identical document is 200 and writes nothing; the "
    "same id with other content is 409. Every error is JSON with a message naming the field "
    "where there is one. When the database is stopped or starting the answer is 503 with "
    "Retry-After and the database is started on demand. Generated from the routes' models: "
    "`cdc-ops api openapi -o docs/producer-api.openapi.json`."
)


class GatewayError(Exception):
    """A request API Gateway answers itself, without invoking the function."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _too_long() -> GatewayError:
    return GatewayError(413, "Request Too Long")


def content_length(values: Iterable[str]) -> int | None:
    """The body's length from the request's Content-Length header(s), or None when it has none.

    Repeated headers (or a comma list) must all say the same number (RFC 9110 §8.6)."""
    given = {v.strip() for value in values for v in value.split(",")}
    if not given:
        return None
    if len(given) > 1:
        raise GatewayError(400, f"conflicting Content-Length values: {', '.join(sorted(given))}")
    (value,) = given
    # ASCII digits only: str.isdigit() and int() also accept '²', '٣', '+1' and '1_0'
    if not re.fullmatch(r"[0-9]+", value):
        raise GatewayError(400, f"Content-Length {value!r} is not a non-negative integer")
    # more digits than any allowed size has; int() refuses strings of over 4300 digits
    if len(value.lstrip("0")) > len(str(GATEWAY_MAX_BODY)):
        raise _too_long()
    length = int(value)
    if length > GATEWAY_MAX_BODY:
        raise _too_long()
    return length


def _read_exactly(rfile: IO[bytes], size: int) -> bytes:
    data = rfile.read(size)
    if len(data) < size:
        raise GatewayError(400, f"request body ended after {len(data)} of {size} bytes")
    return data


def read_chunked(rfile: IO[bytes], limit: int = GATEWAY_MAX_BODY) -> bytes:
    """A chunked body (RFC 9112 §7.1), its trailers read and dropped."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if not line.endswith(b"\n"):
            raise GatewayError(400, "chunked body ended inside a chunk size line")
        size_text = line.split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9A-Fa-f]+", size_text):
            raise GatewayError(400, f"bad chunk size {size_text[:40]!r} in chunked body")
        if len(size_text.lstrip(b"0")) > 8:
            raise _too_long()
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > limit:
            raise _too_long()
        parts.append(_read_exactly(rfile, size))
        if _read_exactly(rfile, 2) != b"\r\n":
            raise GatewayError(400, "chunk data not followed by CRLF in chunked body")
    for _ in range(_MAX_TRAILERS):
        trailer = rfile.readline(_MAX_LINE + 1)
        if not trailer.endswith(b"\n"):
            raise GatewayError(400, "chunked body ended inside its trailers")
        if trailer in (b"\r\n", b"\n"):
            return b"".join(parts)
    raise GatewayError(400, "too many trailers in chunked body")


def read_body(rfile: IO[bytes], headers: Any, limit: int = GATEWAY_MAX_BODY) -> bytes:
    """The request body as API Gateway would have it, read from the connection.

    headers: the request's headers (an email.message.Message, as http.server parses them)."""
    encodings = headers.get_all("transfer-encoding") or []
    length = content_length(headers.get_all("content-length") or [])
    if encodings:
        if length is not None:
            # the request smuggling pattern RFC 9112 §6.3 says to treat as an error
            raise GatewayError(400, "request has both Content-Length and Transfer-Encoding")
        codings = [c.strip().lower() for e in encodings for c in e.split(",") if c.strip()]
        if codings != ["chunked"]:
            raise GatewayError(400, f"unsupported Transfer-Encoding {', '.join(encodings)!r}")
        return read_chunked(rfile, limit)
    return _read_exactly(rfile, length) if length else b""


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_binary(content_type: str, binary_media_types: Iterable[str]) -> bool:
    """Whether API Gateway would pass a body of this type base64-encoded."""
    media = _media_type(content_type)
    for pattern in binary_media_types:
        pattern = pattern.strip().lower()
        if pattern == "*/*" or media == pattern:
            return True
        if pattern.endswith("/*") and media.startswith(pattern[:-1]):
            return True
    return False


def _escape_target(target: str) -> str:
    """The request target as an ASCII string: http.server decodes the request line as latin-1,
    so bytes that are not printable ASCII are percent-encoded back, as a client would send them."""
    raw = target.encode("latin-1", "replace")
    return "".join(chr(b) if 0x21 <= b <= 0x7E else f"%{b:02X}" for b in raw)


def split_target(target: str) -> tuple[str, str]:
    """(path, query) of a request target: origin form (`/path?q`) or absolute (`http://h/p`).

    The path stays percent-encoded, as API Gateway REST passes it."""
    target = _escape_target(target)
    if target.startswith("/"):
        # not urlsplit: it would read '//cars' as a host
        path, _, query = target.partition("?")
    elif re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", target):
        url = urlsplit(target)
        path, query = url.path or "/", url.query
    else:
        raise GatewayError(400, f"request target {target[:100]!r} is not a path")
    return path.partition("#")[0] or "/", query.partition("#")[0]


def proxy_event(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    source_ip: str,
    *,
    multi_headers: Mapping[str, list[str]] | None = None,
    binary_media_types: Iterable[str] = BINARY_MEDIA_TYPES,
) -> dict[str, Any]:
    """The REST API proxy event API Gateway would send for this request.

    headers: one value per name (the last, as API Gateway REST keeps); multi_headers: all of
    them, when the caller has them."""
    path, raw_query = split_target(target)
    query = parse_qs(raw_query, keep_blank_values=True, errors="replace")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    binary = bool(body) and is_binary(content_type, binary_media_types)
    # a body that is not of a binary media type is passed as a UTF-8 string
    text = base64.b64encode(body).decode() if binary else body.decode("utf-8", errors="replace")
    multi = multi_headers if multi_headers is not None else {k: [v] for k, v in headers.items()}
    proxy = path.lstrip("/")
    resource = "/{proxy+}" if proxy else "/"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: list(v) for k, v in multi.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        # the path stays encoded, its parameters are decoded, as API Gateway REST passes them
        "pathParameters": {"proxy": unquote(proxy, errors="replace")} if proxy else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip},
        },
        "body": text if body else None,
        "isBase64Encoded": binary,
    }


def event_size(event: dict[str, Any]) -> int:
    """The bytes of the invocation Lambda receives for this event."""
    return len(json.dumps(event, ensure_ascii=False).encode("utf-8", errors="replace"))


def _header_value(value: Any) -> str:
    # a handler's header value never splits the response, and what latin-1 cannot hold is '?'
    text = str(value).replace("\r", " ").replace("\n", " ")
    return text.encode("latin-1", errors="replace").decode("latin-1")


def lambda_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a Lambda proxy response; GatewayError(502) when the function's
    answer is not one (API Gateway: 'Malformed Lambda proxy response')."""
    malformed = GatewayError(502, "Internal server error")
    if not isinstance(result, Mapping):
        raise malformed
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise malformed
    headers: dict[str, str] = {}
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise malformed
    for key, value in single.items():
        headers[_header_value(key)] = _header_value(value)
    for key, values in multi.items():
        values = values if isinstance(values, list) else [values]
        headers[_header_value(key)] = ", ".join(_header_value(v) for v in values)
    payload = result.get("body")
    if payload is None:
        payload = ""
    if not isinstance(payload, str):
        raise malformed
    if result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(payload, validate=True)
        except ValueError:
            raise malformed from None
    else:
        data = payload.encode("utf-8", errors="replace")
    return status, headers, data


def gateway_body(message: str) -> bytes:
    """The body of an answer API Gateway gives itself."""
    return json.dumps({"message": message}).encode()


class LambdaContainers:
    """N warm containers of one function (each its own pool and clients), resolving one request
    at a time in this process, as Lambda resolves one per container process."""

    def __init__(self, create: Callable[[], Any], count: int) -> None:
        self._idle: queue.Queue[Any] = queue.Queue()
        for _ in range(count):
            self._idle.put(create())

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        container = self._idle.get()
        try:
            with _RESOLVING:
                return container.handler(event, context)
        finally:
            self._idle.put(container)


# Powertools' resolver keeps the request being handled on a class attribute
# (BaseRouter.current_event), shared by every resolver of the process: two requests handled at
# once in one process read each other's body (seen: an event posted twice, another never). Lambda
# runs one request per process, so here one request at a time is resolved per process.
_RESOLVING = threading.Lock()


def load_containers(flavor: str, count: int) -> LambdaContainers:
    module = importlib.import_module(HANDLER_MODULES[flavor])
    return LambdaContainers(module.create_api, count)


def openapi_document(flavor: str = "pg") -> str:
    """The OpenAPI document Powertools generates from the routes' models (building the API
    connects nowhere). Both flavors share the routes."""
    from cdc_ops.producer.documents import with_storable_json

    module = importlib.import_module(HANDLER_MODULES[flavor])
    generated = module.create_api().app.get_openapi_json_schema(
        title=OPENAPI_TITLE, version=OPENAPI_VERSION, description=OPENAPI_DESCRIPTION
    )
    return json.dumps(with_storable_json(json.loads(generated)), indent=2) + "\n"


def _handler_class(
    handler: LambdaHandler,
    activity: ApiActivityPublisher | None,
    documents: Mapping[str, bytes],
    read_timeout_s: float,
    binary_media_types: tuple[str, ...],
    access_log: bool,
) -> type:
    class ApiGatewayAdapter(BaseHTTPRequestHandler):
        server_version = "cdc-ops-api"
        # keep-alive and Expect: 100-continue, as clients expect of API Gateway
        protocol_version = "HTTP/1.1"
        # the socket's timeout for every read and write: a stalled client frees its thread
        timeout = read_timeout_s
        # headers and body are two writes: with Nagle's algorithm the second waits for the
        # client's delayed ACK (40 ms a request on a kept-alive connection)
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            if self.request_version == "HTTP/0.9":
                self.send_error(400, "HTTP/0.9 is not supported")
                return
            path = split_target(self.path)[0] if self.path.startswith("/") else None
            if path in documents and self.command in ("GET", "HEAD"):
                self._reply(200, dict(_JSON), documents[path])
                return
            if activity is not None:
                activity.record()
            try:
                body = read_body(self.rfile, self.headers)
                event = proxy_event(
                    self.command,
                    self.path,
                    {k: v for k, v in self.headers.items()},
                    body,
                    self.client_address[0],
                    multi_headers=self._multi_headers(),
                    binary_media_types=binary_media_types,
                )
                if len(body) > LAMBDA_MAX_EVENT // 2 and event_size(event) > LAMBDA_MAX_EVENT:
                    raise _too_long()
            except GatewayError as exc:
                # the rest of the body is unread (or unreadable): this connection is done
                self.close_connection = True
                self._reply(exc.status, dict(_JSON), gateway_body(exc.message))
                return
            except TimeoutError:
                self.close_connection = True
                self._reply(408, dict(_JSON), gateway_body("timed out reading the request"))
                return
            try:
                result = handler(event, None)
            except Exception:  # noqa: BLE001 - API Gateway answers 502 when the function fails
                self._reply(502, dict(_JSON), gateway_body("Internal server error"))
                raise
            try:
                status, headers, data = lambda_response(result)
            except GatewayError as exc:
                self._reply(exc.status, dict(_JSON), gateway_body(exc.message))
                return
            self._reply(status, headers, data)

        def _multi_headers(self) -> dict[str, list[str]]:
            multi: dict[str, list[str]] = {}
            for key, value in self.headers.items():
                multi.setdefault(key, []).append(value)
            return multi

        def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
            try:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # the client left before its answer: nobody to tell
                self.close_connection = True

        def handle_expect_100(self) -> bool:
            # a body that would be refused is refused before the client sends it
            try:
                content_length(self.headers.get_all("content-length") or [])
            except GatewayError as exc:
                self.close_connection = True
                self._reply(exc.status, dict(_JSON), gateway_body(exc.message))
                return False
            return super().handle_expect_100()

        def send_error(self, code: int, message: str | None = None, explain: str | None = None):
            """http.server's own refusals (request line, headers, methods), as JSON."""
            if code == HTTPStatus.NOT_IMPLEMENTED:
                code, message = 405, f"method {self.command} is not allowed"
            elif code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
                code = 400
            status = HTTPStatus(code)
            if self.request_version == "HTTP/0.9":
                # an answer without a status line is no answer to a modern client
                self.request_version = "HTTP/1.0"
            self.log_error("code %d, message %s", code, message)
            self.close_connection = True
            headers = dict(_JSON)
            if code == 405:
                headers["Allow"] = ", ".join(GATEWAY_METHODS)
            self._reply(code, headers, gateway_body(message or status.phrase))

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            if access_log:
                print(json.dumps({"access": format % args, "client": self.client_address[0]}))

    return ApiGatewayAdapter


def make_server(
    handler: LambdaHandler,
    host: str,
    port: int,
    activity: ApiActivityPublisher | None,
    *,
    documents: Mapping[str, bytes] | None = None,
    read_timeout_s: float = READ_TIMEOUT_S,
    binary_media_types: Iterable[str] = BINARY_MEDIA_TYPES,
    access_log: bool = True,
) -> ThreadingHTTPServer:
    """documents: paths the adapter answers itself with a JSON document (GET and HEAD)."""
    server = ThreadingHTTPServer(
        (host, port),
        _handler_class(
            handler,
            activity,
            dict(documents or {}),
            read_timeout_s,
            tuple(binary_media_types),
            access_log,
        ),
    )
    server.daemon_threads = True
    return server
