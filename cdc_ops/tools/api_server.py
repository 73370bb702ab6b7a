"""`cdc-ops api serve`: a producer API handler on 127.0.0.1 behind an API-Gateway-shaped adapter.

Each HTTP request becomes an API Gateway REST (v1) proxy event, the handler's proxy response
becomes the HTTP response, and each request is counted as `AWS/ApiGateway Count` in (moto's)
CloudWatch. No web framework: the standard library's threading HTTP server is enough here.
"""

from __future__ import annotations

import base64
import importlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cdc_ops.tools.api_activity import ApiActivityPublisher

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

HANDLER_MODULES = {
    "pg": "lambdas.producer_api_pg.handler",
    "dsql": "lambdas.producer_api_dsql.handler",
}
# API Gateway refuses payloads over 10 MB before the function sees them.
GATEWAY_MAX_BODY = 10 * 1024 * 1024
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


# Powertools' resolver keeps the request being handled on a class attribute
# (BaseRouter.current_event), shared by every resolver of the process: two requests handled at
# once in one process read each other's body (seen: an event posted twice, another never). Lambda
# runs one request per process, so here one request at a time is resolved per process.
_RESOLVING = threading.Lock()


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


def load_containers(flavor: str, count: int) -> LambdaContainers:
    module = importlib.import_module(HANDLER_MODULES[flavor])
    return LambdaContainers(module.create_api, count)


def proxy_event(
    method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The REST API proxy event API Gateway would send for this request."""
    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    content_type = headers.get("content-type", "")
    is_text = not body or content_type.startswith(_TEXT_TYPES)
    return {
        "resource": url.path,
        "path": url.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": url.path,
            "httpMethod": method,
            "path": url.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip},
        },
        "body": (body.decode() if is_text else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": not is_text,
    }


def _handler_class(handler: LambdaHandler, activity: ApiActivityPublisher | None) -> type:
    class ApiGatewayAdapter(BaseHTTPRequestHandler):
        server_version = "cdc-ops-api"

        def _serve(self) -> None:
            if activity is not None:
                activity.record()
            length = int(self.headers.get("content-length") or 0)
            if length > GATEWAY_MAX_BODY:
                self._reply(
                    413, {"Content-Type": "application/json"}, b'{"message":"Request Too Long"}'
                )
                return
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            event = proxy_event(self.command, self.path, headers, body, self.client_address[0])
            try:
                result = handler(event, None)
            except Exception:  # noqa: BLE001 - API Gateway answers 502 when the function fails
                self._reply(
                    502,
                    {"Content-Type": "application/json"},
                    b'{"message":"Internal server error"}',
                )
                raise
            out_headers = dict(result.get("headers") or {})
            for key, values in (result.get("multiValueHeaders") or {}).items():
                out_headers[key] = ", ".join(values)
            payload = result.get("body") or ""
            data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            self._reply(int(result["statusCode"]), out_headers, data)

        def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            print(json.dumps({"access": format % args, "client": self.client_address[0]}))

    return ApiGatewayAdapter


def make_server(
    handler: LambdaHandler, host: str, port: int, activity: ApiActivityPublisher | None
) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), _handler_class(handler, activity))
    server.daemon_threads = True
    return server
