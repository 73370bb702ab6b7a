"""The producer API's routes, shared by the Aurora PostgreSQL and Aurora DSQL handlers.

Powertools does the routing, request validation, structured logging and EMF metrics; the work is
in cdc_ops.producer (models, repository, connections, auto-start).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import IO, Annotated, Any
from urllib.parse import unquote

import psycopg
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from cdc_ops.adapters import Adapters
from cdc_ops.errors import ConflictError, DatabaseUnavailable
from cdc_ops.producer.autostart import AutoStarter, NoAutoStart
from cdc_ops.producer.connections import PooledDatabase
from cdc_ops.producer.documents import parse_json
from cdc_ops.producer.models import IDENTIFIER_PATTERN, BusinessEvent, Car
from cdc_ops.producer.repository import ProducerRepository
from cdc_ops.producer.requests import JSON_MEDIA_TYPE, json_spelled_lowercase, refusal
from cdc_ops.settings import Settings, load_settings
from lambdas.producer_api import contract

METRICS_NAMESPACE = "CdcOps/ProducerApi"
EVENTS_PATH = "/api/v1/events"
# the response header naming the request, so a client's report can be found in the logs
REQUEST_ID_HEADER = "X-Request-Id"
UNAVAILABLE_MESSAGE = (
    "The database is currently starting. Please retry your request in 1-2 minutes."
)


@dataclass
class ProducerService:
    database: PooledDatabase
    repository: ProducerRepository
    auto_starter: AutoStarter
    max_body_bytes: int
    retry_after_s: int


def make_service(
    settings: Settings, database: Callable[[Settings], PooledDatabase], *, auto_start: bool
) -> ProducerService:
    db = database(settings)
    return ProducerService(
        database=db,
        repository=ProducerRepository(db.connection),
        auto_starter=Adapters(settings).auto_starter if auto_start else NoAutoStart(),
        max_body_bytes=settings.producer_api.max_body_bytes,
        retry_after_s=settings.producer_api.retry_after_s,
    )


def _error_body(status: HTTPStatus, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": status.phrase, "message": message, "status": int(status), **extra}


def _error(status: HTTPStatus, message: str, **extra: Any) -> Response:
    body = _error_body(status, message, **extra)
    return Response(int(status), content_types.APPLICATION_JSON, json.dumps(body))


def _field(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if part == "body" and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(body)"


# PostgreSQL's OFFSET is a bigint; this bound is one a JSON Schema double states exactly
MAX_OFFSET = 10**15
# an id in a path: what the models accept, so one that cannot exist is refused, not looked up
PathId = Annotated[str, Path(min_length=1, max_length=255, pattern=IDENTIFIER_PATTERN)]


_REFUSAL_METRICS = {413: "RequestTooLarge", 415: "UnsupportedMediaType"}


_ROUTABLE_PATH = re.compile(r"[A-Za-z0-9._:@/-]*")


def routable(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the router should see it: API Gateway REST passes `path` still
    percent-encoded (GET /cars/a%3Ab names car a:b), and the JSON content type in any case."""
    event = json_spelled_lowercase(event)
    path = event.get("path") or ""
    if "%" in path:
        decoded = unquote(path)
        # decoded only into what ids are made of: anything else stays encoded, and an id with
        # "%" in it is refused (422) by the id's pattern, as it names nothing
        if _ROUTABLE_PATH.fullmatch(decoded):
            event = {**event, "path": decoded}
    return event


def _proxy_response(status: int, headers: dict[str, Any], body: str) -> dict[str, Any]:
    """The proxy answer the REST resolver builds: every header as a list."""
    multi = {k: list(v) if isinstance(v, list) else [v] for k, v in headers.items()}
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "multiValueHeaders": multi,
    }


class ProducerApi:
    """One per Lambda container: the service (pool, auto-starter) is built on first use."""

    def __init__(
        self, name: str, make: Callable[[], ProducerService], log_stream: IO[str] | None = None
    ) -> None:
        self.name = name
        self.logger = Logger(service=name, stream=log_stream)
        self._cold_start = True
        self.metrics = Metrics(namespace=METRICS_NAMESPACE, service=name)
        self._make = make
        self._service: ProducerService | None = None
        self.app = self._routes()

    @property
    def service(self) -> ProducerService:
        if self._service is None:
            self._service = self._make()
        return self._service

    def _count(self, metric: str) -> None:
        self.metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        request_id = str((event.get("requestContext") or {}).get("requestId") or "")
        # every line this request logs carries API Gateway's request id (the one its response
        # names) and whether it is the container's first; thread-local, as the local API
        # server runs its containers on threads
        self.logger.thread_safe_append_keys(
            correlation_id=request_id or None,
            cold_start=self._cold_start,
            function_request_id=getattr(context, "aws_request_id", None),
        )
        self._cold_start = False
        try:
            result = self._answer(event, context)
        finally:
            self.logger.thread_safe_clear_keys()
        if request_id:
            headers = result.get("multiValueHeaders")
            if headers is not None:
                headers[REQUEST_ID_HEADER] = [request_id]
            else:
                result.setdefault("headers", {})[REQUEST_ID_HEADER] = request_id
        return result

    def _answer(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self._count("Requests")
        try:
            refused = refusal(event, self.service.max_body_bytes)
            if refused is not None:
                # answered before anything parses the body
                self._count(_REFUSAL_METRICS.get(refused.status, "RequestsRefused"))
                body = _error_body(HTTPStatus(refused.status), refused.message)
                return {
                    "statusCode": refused.status,
                    "headers": {"Content-Type": content_types.APPLICATION_JSON},
                    "body": json.dumps(body),
                    "isBase64Encoded": False,
                }
            if event.get("httpMethod") == "POST" and event.get("path") == EVENTS_PATH:
                return self._post_event_directly(event)
            return self.app.resolve(routable(event), context)
        finally:
            self.metrics.flush_metrics()

    # POST /api/v1/events is the traffic. Powertools' resolver spends about 150 us on a request
    # there (route matching, a middleware chain built per request, parameter normalising,
    # response serialising) around 15 us of validation, so that route is answered here, with the
    # resolver's own answers (tests/lambdas/test_producer_api_direct.py holds the two equal). The
    # resolver serves the other routes and documents all of them.
    def _post_event_directly(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            body = event.get("body")
            if body and event.get("isBase64Encoded"):
                body = base64.b64decode(body).decode()
            try:
                document = parse_json(body) if body else None
            except json.JSONDecodeError as exc:
                raise RequestValidationError(
                    [{"type": "json_invalid", "loc": ("body", exc.pos), "ctx": {"error": exc.msg}}]
                ) from exc
            if document is None:
                raise RequestValidationError([{"type": "missing", "loc": ("body",)}])
            try:
                # as the resolver validates it (its messages say "object to extract fields from")
                parsed = BusinessEvent.model_validate(document, from_attributes=True)
            except ValidationError as exc:
                errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
                raise RequestValidationError(errors) from exc
            answer, status = self._store_event(parsed, document)
            body_text = json.dumps(answer, separators=(",", ":"))
            return _proxy_response(
                status, {"Content-Type": content_types.APPLICATION_JSON}, body_text
            )
        except Exception as exc:  # noqa: BLE001 - answered as the resolver's handlers answer it
            response = self._answer_error(exc)
            return _proxy_response(response.status_code, response.headers, response.body)

    def _answer_error(self, exc: Exception) -> Response:
        for kind in type(exc).__mro__:
            handle = self._error_handlers.get(kind)
            if handle is not None:
                return handle(exc)
        raise exc

    def _store_event(
        self, event: BusinessEvent, document: dict[str, Any]
    ) -> tuple[dict[str, Any], int]:
        result = self.service.repository.save_event(event, document)
        if result.created:
            self._count("EventsCreated")
            self.logger.info("event stored", extra={"event_id": result.id})
            return {"id": result.id, "status": "created"}, 201
        self._count("EventReplays")
        self.logger.info("identical event replayed; nothing written", extra={"event_id": result.id})
        return {"id": result.id, "status": "already exists"}, 200

    def _routes(self) -> APIGatewayRestResolver:
        # NaN, Infinity, bodies too deep or numbers too long to parse are "not valid JSON" (400)
        app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_json)
        log = self.logger
        # each route as registered, for telling a 405 (known path, other method) from a 404
        rules: list[tuple[str, re.Pattern[str]]] = []

        def route(method: str, path: str, responses: dict[int, Any]) -> Callable:
            rules.append((method, re.compile(re.sub(r"<\w+>", "[^/]+", path))))
            return app.route(path, method, responses=responses)

        @route("POST", EVENTS_PATH, contract.POST_EVENT)
        def post_event(event: BusinessEvent) -> tuple[dict[str, Any], int]:
            return self._store_event(event, app.current_event.json_body)

        @route("GET", "/api/v1/events/<event_id>", contract.GET_EVENT)
        def get_event(event_id: PathId) -> Any:
            found = self.service.repository.get_event(event_id)
            if found is None:
                return _error(HTTPStatus.NOT_FOUND, f"event {event_id} not found")
            return found

        @route("GET", "/cars", contract.LIST_CARS)
        def list_cars(
            limit: Annotated[int, Query(ge=1, le=100)] = 50,
            offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        ) -> dict[str, Any]:
            cars = self.service.repository.list_cars(limit, offset)
            return {"cars": cars, "limit": limit, "offset": offset}

        @route("POST", "/cars", contract.POST_CAR)
        def create_car(car: Car) -> tuple[dict[str, Any], int]:
            refused = car.unstorable_attribute()
            if refused is not None:
                name, problem = refused
                raise RequestValidationError(
                    [{"type": "value_error", "loc": ("body", name), "msg": problem}]
                )
            result = self.service.repository.create_car(car)
            if result.created:
                self._count("CarsCreated")
                return {"id": result.id, "status": "created"}, 201
            return {"id": result.id, "status": "already exists"}, 200

        @route("GET", "/cars/<car_id>", contract.GET_CAR)
        def get_car(car_id: PathId) -> Any:
            found = self.service.repository.get_car(car_id)
            if found is None:
                return _error(HTTPStatus.NOT_FOUND, f"car {car_id} not found")
            return found

        @app.exception_handler(RequestValidationError)
        def invalid(exc: RequestValidationError) -> Response:
            errors = exc.errors()
            for err in errors:
                if err["type"] == "json_invalid":
                    detail = (err.get("ctx") or {}).get("error", "")
                    return _error(
                        HTTPStatus.BAD_REQUEST, f"request body is not valid JSON: {detail}"
                    )
                if err["type"] == "missing" and tuple(err["loc"]) == ("body",):
                    return _error(HTTPStatus.BAD_REQUEST, "request body is required")
            self._count("ValidationErrors")
            fields = [
                {
                    "field": _field(tuple(e["loc"])),
                    "message": e["msg"].removeprefix("Value error, "),
                }
                for e in errors
            ]
            names = ", ".join(f["field"] for f in fields)
            return _error(
                HTTPStatus.UNPROCESSABLE_ENTITY, f"invalid fields: {names}", fields=fields
            )

        @app.exception_handler(RequestUnsupportedContentType)
        def unsupported_type(exc: RequestUnsupportedContentType) -> Response:
            return _error(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type must be {JSON_MEDIA_TYPE}"
            )

        @app.exception_handler(psycopg.DataError)
        def unstorable(exc: psycopg.DataError) -> Response:
            # a value the checks above let through and the database refused: the client's data
            self._count("ValidationErrors")
            detail = exc.diag.message_primary or str(exc)
            return _error(
                HTTPStatus.UNPROCESSABLE_ENTITY, f"the database refused a value: {detail}"
            )

        @app.exception_handler(ConflictError)
        def conflict(exc: ConflictError) -> Response:
            self._count("Conflicts")
            return _error(HTTPStatus.CONFLICT, str(exc))

        @app.exception_handler(DatabaseUnavailable)
        def unavailable(exc: DatabaseUnavailable) -> Response:
            self._count("DatabaseUnavailable")
            try:
                status = self.service.auto_starter.request_start()
                log.warning(
                    "database unavailable; auto-start requested",
                    extra={"auto_start": status, "cause": str(exc)},
                )
            except Exception:  # noqa: BLE001 - the client still gets its 503
                log.exception("database unavailable and the auto-start request failed")
            retry = self.service.retry_after_s
            # the seed's body, word for word, and the header clients and proxies honour
            body = {
                "error": "Service Temporarily Unavailable",
                "message": UNAVAILABLE_MESSAGE,
                "status": 503,
                "retry_after": retry,
            }
            return Response(
                503,
                content_types.APPLICATION_JSON,
                json.dumps(body),
                headers={"Retry-After": str(retry)},
            )

        @app.exception_handler(ServiceError)
        def service_error(exc: ServiceError) -> Response:
            return _error(HTTPStatus(exc.status_code), exc.msg)

        @app.not_found
        def not_found(_exc: Exception) -> Response:
            path, method = app.current_event.path, app.current_event.http_method
            allowed = sorted({m for m, rule in rules if rule.fullmatch(path)})
            if allowed:
                # the path exists, the method does not: HTTP's 405, naming what it takes
                response = _error(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"{method} is not allowed on {path}; allowed: {', '.join(allowed)}",
                )
                response.headers["Allow"] = ", ".join(allowed)
                return response
            return _error(HTTPStatus.NOT_FOUND, f"no route for {method} {path}")

        @app.exception_handler(Exception)
        def unexpected(exc: Exception) -> Response:
            log.exception("unhandled error")
            self._count("InternalErrors")
            return _error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; see the function's log"
            )

        # the same handlers answer the direct route's errors
        self._error_handlers = {
            RequestValidationError: invalid,
            RequestUnsupportedContentType: unsupported_type,
            psycopg.DataError: unstorable,
            ConflictError: conflict,
            DatabaseUnavailable: unavailable,
            ServiceError: service_error,
            Exception: unexpected,
        }
        return app


def settings_factory() -> Settings:
    return load_settings()
