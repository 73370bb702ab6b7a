"""What the producer API refuses before routing: bodies too large, not JSON, not UTF-8.

A pure decision on the API Gateway proxy event, so a refusal never reaches the router's parser
(which answers 500 for bodies it cannot decode) and costs no parse of a body that will be refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# methods whose body the routes read
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
JSON_MEDIA_TYPE = "application/json"
# JSON is UTF-8 (RFC 8259); no charset means UTF-8
_UTF8 = (None, "utf-8", "utf8")


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header by name, in any case (API Gateway keeps the client's spelling)."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return value
    return None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def refusal(event: Mapping[str, Any], max_body_bytes: int) -> Refusal | None:
    """Why the request is refused before it is routed, or None."""
    body = event.get("body") or ""
    raw: bytes | None = None
    if event.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return Refusal(400, "request body is marked base64-encoded but is not valid base64")
        size = len(raw)
    else:
        # surrogatepass: a body that is not Unicode is measured, and refused further on
        size = len(body.encode("utf-8", "surrogatepass"))
    if size > max_body_bytes:
        return Refusal(413, f"request body is larger than {max_body_bytes} bytes")
    if size and event.get("httpMethod") in _WITH_BODY:
        content_type = header(event, "content-type")
        if media_type(content_type) != JSON_MEDIA_TYPE or charset(content_type) not in _UTF8:
            got = f"got {content_type!r}" if content_type else "none was given"
            return Refusal(415, f"Content-Type must be {JSON_MEDIA_TYPE} (UTF-8); {got}")
        if raw is not None:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return Refusal(400, f"request body is not UTF-8 (byte {exc.start})")
    return None


def json_spelled_lowercase(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its JSON Content-Type in lower case: media types are case-insensitive,
    and the router compares them as written."""
    for field in ("headers", "multiValueHeaders"):
        headers = event.get(field) or {}
        for key, value in headers.items():
            if key.lower() != "content-type":
                continue
            values = value if isinstance(value, list) else [value]
            if all(v.startswith(JSON_MEDIA_TYPE) for v in values):
                continue
            lowered = [JSON_MEDIA_TYPE if media_type(v) == JSON_MEDIA_TYPE else v for v in values]
            event = {
                **event,
                field: {**headers, key: lowered if isinstance(value, list) else lowered[0]},
            }
    return event
