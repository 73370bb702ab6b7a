"""The producer API's answers as its OpenAPI document declares them
(docs/producer-api.openapi.json).

Every status a route can answer is declared with the body it carries, so a client (and the fuzz
test, which checks each answer against the document) knows a 409 from a 503 by its schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="where in the request, e.g. eventHeader.uuid or query.limit")
    message: str


class ErrorBody(BaseModel):
    error: str = Field(description="the status's reason phrase")
    message: str
    status: int
    fields: list[FieldError] | None = Field(None, description="422 only: each refused field")
    retry_after: int | None = Field(None, description="503 only: seconds, as in Retry-After")


class Saved(BaseModel):
    id: str
    status: Literal["created", "already exists"]


class CarPage(BaseModel):
    cars: list[dict[str, Any]]
    limit: int
    offset: int


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


_REQUEST_ID = {
    "X-Request-Id": {
        "description": "API Gateway's request id; the function's log lines carry it",
        "schema": {"type": "string"},
    }
}
UNAVAILABLE = {
    **_error("the database is stopped or starting; an auto-start was requested"),
    "headers": {
        **_REQUEST_ID,
        "Retry-After": {"description": "seconds", "schema": {"type": "integer"}},
    },
}
INVALID = _error("a field is refused; `fields` names each one")


def _ok(description: str, model: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"model": model}},
        "headers": _REQUEST_ID,
    }


def _writes(kind: str) -> dict[int, Any]:
    return {
        201: _ok(f"the {kind} was stored", Saved),
        200: _ok(f"the identical {kind} was stored before; nothing was written", Saved),
        400: _error("the body is missing, not valid JSON, not UTF-8 or not valid base64"),
        409: _error(f"a {kind} with this id exists with other content; nothing was written"),
        413: _error("the body is larger than producer_api.max_body_bytes"),
        415: _error("the body is not application/json in UTF-8"),
        422: INVALID,
        503: UNAVAILABLE,
    }


def _reads(kind: str, model: Any) -> dict[int, Any]:
    return {
        200: _ok(f"the {kind}", model),
        404: _error(f"no {kind} has this id"),
        422: INVALID,
        503: UNAVAILABLE,
    }


POST_EVENT = _writes("event")
POST_CAR = _writes("car")
GET_EVENT = _reads("event as it was posted", dict[str, Any])
GET_CAR = _reads("car", dict[str, Any])
LIST_CARS = {200: _ok("a page of cars, oldest first", CarPage), 422: INVALID, 503: UNAVAILABLE}
