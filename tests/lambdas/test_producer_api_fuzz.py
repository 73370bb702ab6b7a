"""The producer API under hostile input, over HTTP through `cdc-ops api serve`'s adapter.

schemathesis fuzzes every route against the OpenAPI document the routes generate (the one
`cdc-ops api openapi` prints and docs/producer-api.openapi.json ships), positive and negative
data, derandomized. Hand-written cases send what a generator will not: NUL characters, lone
surrogates, numbers and nesting JSON or PostgreSQL cannot hold, bodies at the size limit, wrong
content types, bad framing. Required: no 5xx, a wrong content type is 415, a query parameter out
of range 422, every 4xx JSON with a message naming the field where there is one. Afterwards no
partial event may be in the database, and the events written are exactly those answered 201.

The fuzz collects what it finds and sends every example; `test_fuzz_found_no_*` then fail per
operation with one reproducer per distinct failure (the handler's exception from its log). Each
request's status is counted: `fuzz: N requests: 201 x a, ...` is written at the end of the module
and to fuzz-summary.json under pytest's base temporary directory.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from cdc_ops.clients.postgres import connect
from cdc_ops.producer.connections import postgres_database
from cdc_ops.settings import Settings
from cdc_ops.tools.api_server import LambdaContainers, make_server, openapi_document, proxy_event
from cdc_ops.tools.stack import Stack
from lambdas.producer_api.app import ProducerApi, make_service

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

DOCUMENT = openapi_document()
SCHEMA = schemathesis.openapi.from_dict(json.loads(DOCUMENT))
OPERATIONS = [op.ok().label for op in SCHEMA.get_all_operations()]
# generated examples per operation (positive and negative); with schemathesis' explicit and
# coverage cases about 4,400 requests, some 100 s on 2 cores
EXAMPLES = 800
READ_TIMEOUT_S = 2.0

SERVER_CHECKS = [not_a_server_error]
CONFORMANCE_CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    negative_data_rejection,
]


# --- the server, its log, and the tally -----------------------------------------------------


class HandlerLog:
    """The handlers' log stream: kept in a file, its errors indexed by API Gateway request id
    (every line carries it as correlation_id) to name the exception behind a 5xx."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("a")
        self._lock = threading.Lock()
        self.errors: dict[str, str] = {}

    def write(self, text: str) -> int:
        with self._lock:
            self._file.write(text)
            for line in text.splitlines():
                if '"ERROR"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                trace = [t for t in (entry.get("exception") or "").splitlines() if t.strip()]
                ours = [t.strip() for t in trace if str(ROOT) in t and ".venv" not in t]
                where = f" at {ours[-1]}" if ours else ""
                last = trace[-1].strip() if trace else entry.get("message", "")
                self.errors[str(entry.get("correlation_id"))] = f"{last[:300]}{where}"
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._file.flush()

    def close(self) -> None:
        self._file.close()


@dataclass
class Finding:
    title: str
    reproducer: str
    count: int = 1


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    # requests the fuzz sent per operation
    fuzzed: Counter[str] = field(default_factory=Counter)
    created: set[str] = field(default_factory=set)
    # bucket ("server" or "conformance") -> operation -> signature -> finding
    findings: dict[str, dict[str, dict[str, Finding]]] = field(default_factory=dict)

    def record(self, method: str, path: str, status: int, body: bytes) -> None:
        self.statuses[status] += 1
        if status == 201 and method == "POST" and path == "/api/v1/events":
            self.created.add(json.loads(body)["id"])

    def find(self, bucket: str, operation: str, signature: str, title: str, repro: str) -> None:
        found = self.findings.setdefault(bucket, {}).setdefault(operation, {})
        if signature in found:
            found[signature].count += 1
        else:
            found[signature] = Finding(title, repro)

    def summary(self) -> str:
        total = sum(self.statuses.values())
        parts = ", ".join(f"{status} x {n}" for status, n in sorted(self.statuses.items()))
        return f"fuzz: {total} requests: {parts}"


@dataclass
class Served:
    base: str
    port: int
    settings: Settings
    containers: LambdaContainers
    log: HandlerLog
    tally: Tally
    session: requests.Session
    events_before: set[str]


def event_ids(settings: Settings) -> set[str]:
    with connect(settings) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM business_events")}


@pytest.fixture(scope="module")
def served(
    local_stack: Stack, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Served]:
    settings = local_stack.settings
    logs = tmp_path_factory.mktemp("fuzz")
    log = HandlerLog(logs / "handler.log")

    def container() -> ProducerApi:
        # the stack's settings; no auto-start function is ever invoked
        return ProducerApi(
            "producer-api-fuzz",
            lambda: make_service(settings, postgres_database, auto_start=False),
            log_stream=log,
        )

    containers = LambdaContainers(container, 2)
    server = make_server(
        containers,
        "127.0.0.1",
        0,
        None,
        documents={"/openapi.json": DOCUMENT.encode()},
        read_timeout_s=READ_TIMEOUT_S,
        access_log=False,
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    port = server.server_address[1]
    tally = Tally()
    session = requests.Session()
    began = time.monotonic()
    try:
        yield Served(
            f"http://127.0.0.1:{port}",
            port,
            settings,
            containers,
            log,
            tally,
            session,
            event_ids(settings),
        )
    finally:
        session.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        log.close()
        line = f"{tally.summary()} in {time.monotonic() - began:.0f} s; handler log {log.path}"
        summary = {
            "requests": sum(tally.statuses.values()),
            "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
            "events_created": len(tally.created),
            "fuzzed_per_operation": dict(tally.fuzzed),
            "findings": {
                bucket: {op: len(found) for op, found in ops.items() if found}
                for bucket, ops in tally.findings.items()
            },
        }
        (tmp_path_factory.getbasetemp() / "fuzz-summary.json").write_text(
            json.dumps(summary, indent=2) + "\n"
        )
        # past pytest's capture, as its own --setup-show output goes
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line("")
                reporter.write_line(line)


def _literal(data: bytes | str | None, limit: int = 400) -> str:
    if data is None:
        return "None"
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    text = repr(raw[:limit])
    return text if len(raw) <= limit else f"{text} + ... ({len(raw)} bytes)"


def _header(headers: Any, name: str) -> str:
    """A response header from http.client's dict or schemathesis' (lower-case keys, lists)."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return ""


def _error_of(served: Served, headers: Any) -> str:
    request_id = _header(headers, "X-Request-Id")
    served.log.flush()
    return served.log.errors.get(request_id, "no handler error logged")


def _json_body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def answer_problems(status: int, headers: Any, content: bytes, method: str) -> list[str]:
    """What is wrong with an answer whatever was asked: a 5xx, a body that is not JSON, a 4xx
    without a message, a 422 whose message does not name its fields."""
    problems = []
    if status >= 500:
        problems.append(f"{status}")
    if method == "HEAD":
        return problems
    body = _json_body(content)
    if body is None or "json" not in _header(headers, "Content-Type"):
        problems.append(f"{status} without a JSON body")
    elif 400 <= status < 500:
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str) or not message:
            problems.append(f"{status} without a message")
        elif status == 422:
            fields = [f.get("field") for f in body.get("fields") or [] if isinstance(f, dict)]
            if not fields or not all(f and f in message for f in fields):
                problems.append("422 whose message does not name its fields")
    return problems


# --- the generated fuzz -------------------------------------------------------------------------


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    # every example is sent: failures are collected, not shrunk (shrinking would send thousands
    # more requests); `test_fuzz_found_no_*` report them
    phases=[Phase.explicit, Phase.generate],
)
def test_fuzz(case: schemathesis.Case, served: Served) -> None:
    operation = case.operation.label
    if operation == "POST /api/v1/events" and case.meta and case.meta.generation.mode.is_positive:
        _unique_entities(case.body)
    served.tally.fuzzed[operation] += 1
    try:
        response = case.call(base_url=served.base, session=served.session, timeout=60)
    except requests.RequestException as exc:
        served.tally.statuses[0] += 1  # no answer at all
        curl = case.as_curl_command(base_url=served.base)
        served.tally.find("server", operation, f"no answer {type(exc).__name__}", str(exc), curl)
        return
    request_body = response.request.body
    served.tally.record(case.method.upper(), case.path, response.status_code, response.content)
    reproducer = (
        f"{case.method.upper()} {response.request.url}\n"
        f"  headers {dict(response.request.headers)}\n"
        f"  body {_literal(request_body)}\n"
        f"  -> {response.status_code} {_literal(response.content, 300)}"
    )
    problems = answer_problems(
        response.status_code, response.headers, response.content, case.method.upper()
    )
    if response.status_code >= 500:
        error = _error_of(served, response.headers)
        reproducer += f"\n  log: {error}"
        problems = [
            f"{p}: {error[:120]}" if p == str(response.status_code) else p for p in problems
        ]
    for problem in problems:
        served.tally.find("server", operation, problem, problem, reproducer)
    for check, bucket in [(SERVER_CHECKS, "server"), (CONFORMANCE_CHECKS, "conformance")]:
        try:
            case.validate_response(response, checks=check)
        except FailureGroup as group:
            for failure in group.exceptions:
                title = getattr(failure, "title", type(failure).__name__)
                signature = f"{title}: {response.status_code}: {_gist(response.content)}"
                served.tally.find(bucket, operation, signature, signature, reproducer)


def _gist(content: bytes) -> str:
    """What an answer says, without what varies from example to example (quoted values, list
    indexes, the place inside free-form attributes): one finding per kind of answer."""
    body = _json_body(content)
    if not isinstance(body, dict):
        return ""
    fields = body.get("fields") or []
    if fields and isinstance(fields[0], dict):
        message = re.sub(r"^.*? (contains|is) ", r"… \1 ", str(fields[0].get("message")))
        said = f"{fields[0].get('field')}: {message}"
    else:
        said = str(body.get("message"))
    said = re.sub(r"'[^']*'", "'…'", said)
    return re.sub(r"\[\d+\]", "[n]", said)[:120]


def _unique_entities(body: Any) -> None:
    """An event names each entity once, which no JSON schema can say: positive data keeps the
    first of each (entityType, entityId)."""
    try:
        entities = body["eventBody"]["entities"]
        seen: set[tuple[Any, Any]] = set()
        unique = []
        for entity in entities:
            key = (entity.get("entityType"), entity.get("entityId"))
            if key not in seen:
                seen.add(key)
                unique.append(entity)
        entities[:] = unique
    except (KeyError, TypeError, AttributeError):
        return


def _report(served: Served, bucket: str, operation: str) -> str:
    # never a pass for an operation the fuzz did not reach (or was not run for)
    assert served.tally.fuzzed[operation] >= EXAMPLES // 2, served.tally.fuzzed
    found = served.tally.findings.get(bucket, {}).get(operation, {})
    return "\n\n".join(
        f"[{f.count} x] {f.title}\n{f.reproducer}"
        for f in sorted(found.values(), key=lambda f: -f.count)
    )


@pytest.mark.parametrize("operation", OPERATIONS)
def test_fuzz_found_no_server_error_and_no_unnamed_4xx(served: Served, operation: str) -> None:
    report = _report(served, "server", operation)
    assert not report, f"{operation}:\n{report}"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_fuzz_found_every_answer_as_the_document_says(served: Served, operation: str) -> None:
    report = _report(served, "conformance", operation)
    assert not report, f"{operation}:\n{report}"


# --- hand-written hostile requests ----------------------------------------------------------


def send(
    served: Served, method: str, path: str, body: bytes = b"", content_type: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly these bytes (http.client adds Host and Content-Length only)."""
    conn = HTTPConnection("127.0.0.1", served.port, timeout=60)
    try:
        headers = {} if content_type is None else {"Content-Type": content_type}
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        content = response.read()
        out = {k: v for k, v in response.getheaders()}
    finally:
        conn.close()
    served.tally.record(method, path.partition("?")[0], response.status, content)
    return response.status, out, content


def send_raw(served: Served, wire: bytes) -> tuple[int, dict[str, str], bytes]:
    """Raw bytes on a socket (framing no client library would send); the one answer."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(wire)
        data = b""
        while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
        head, _, content = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers.get("Content-Length", 0))
        while len(content) < length and (chunk := sock.recv(65536)):
            content += chunk
    status = int(status_line.split()[1])
    served.tally.statuses[status] += 1
    return status, headers, content[:length]


def event(uuid_: str, attributes: Any = None, **header: Any) -> dict[str, Any]:
    return {
        "eventHeader": {"uuid": uuid_, "eventName": "LoanCreated", **header},
        "eventBody": {
            "entities": [
                {"entityType": "Loan", "entityId": "loan-1", "updatedAttributes": attributes or {}}
            ]
        },
    }


def uid(name: str) -> str:
    return f"fz-{name}-{uuid.uuid4().hex[:12]}"


def raw_event(uuid_: str, attributes: bytes) -> bytes:
    """An event whose updatedAttributes are these JSON bytes, as sent."""
    return (
        b'{"eventHeader": {"uuid": "' + uuid_.encode() + b'", "eventName": "LoanCreated"}, '
        b'"eventBody": {"entities": [{"entityType": "Loan", "entityId": "loan-1", '
        b'"updatedAttributes": ' + attributes + b"}]}}"
    )


def sized_event(uuid_: str, size: int) -> bytes:
    """A valid event of exactly `size` bytes."""
    base = json.dumps(event(uuid_, {"pad": ""})).encode()
    body = json.dumps(event(uuid_, {"pad": "x" * (size - len(base))})).encode()
    assert len(body) == size
    return body


def car(**fields: Any) -> bytes:
    return json.dumps({"make": "Volvo", "model": "V70", "year": 2004, **fields}).encode()


@dataclass(frozen=True)
class Hostile:
    name: str
    method: str
    path: str
    body: bytes | None = b""
    content_type: str | None = "application/json"
    expect: tuple[int, ...] = (400, 422)
    # what the message of a 4xx must name (case-insensitive), where there is a field; a 404
    # names what is missing, not a field
    names: str | None = None


EVENTS = "/api/v1/events"
JSON = "application/json"
ATTRS = "eventBody.entities[0].updatedAttributes"


def hostile_cases() -> list[Hostile]:
    u = uid
    deep_list = b"[" * 1000 + b"]" * 1000
    cases = [
        # NUL: PostgreSQL text and JSONB cannot hold \u0000
        Hostile(
            "nul-in-attribute-value",
            "POST",
            EVENTS,
            json.dumps(event(u("n1"), {"a": "x\0y"})).encode(),
            names=ATTRS,
        ),
        Hostile(
            "nul-in-attribute-key",
            "POST",
            EVENTS,
            json.dumps(event(u("n2"), {"a\0": 1})).encode(),
            names=ATTRS,
        ),
        Hostile(
            "nul-in-uuid",
            "POST",
            EVENTS,
            json.dumps(event("fz-n3\0x")).encode(),
            names="eventHeader.uuid",
        ),
        Hostile(
            "nul-in-event-name",
            "POST",
            EVENTS,
            json.dumps(event(u("n4"), eventName="Loan\0")).encode(),
            names="eventHeader.eventName",
        ),
        Hostile(
            "nul-in-event-type",
            "POST",
            EVENTS,
            json.dumps(event(u("n5"), eventType="Loan\0")).encode(),
            names="eventHeader.eventType",
        ),
        Hostile(
            "nul-in-entity-type",
            "POST",
            EVENTS,
            json.dumps(
                {
                    "eventHeader": {"uuid": u("n6"), "eventName": "x"},
                    "eventBody": {"entities": [{"entityType": "L\0", "entityId": "e"}]},
                }
            ).encode(),
            names="eventBody.entities[0].entityType",
        ),
        Hostile("nul-in-car-make", "POST", "/cars", car(make="Vol\0vo"), names="make"),
        Hostile("nul-in-car-extra", "POST", "/cars", car(colour_code="\0"), names="colour_code"),
        Hostile("nul-in-car-extra-key", "POST", "/cars", car(**{"k\0": 1})),
        # lone surrogates: JSON escapes no UTF-8 (and no PostgreSQL text) can hold
        Hostile(
            "lone-surrogate-attribute-value",
            "POST",
            EVENTS,
            raw_event(u("s1"), b'{"a": "\\ud800"}'),
            names=ATTRS,
        ),
        Hostile(
            "lone-surrogate-attribute-key",
            "POST",
            EVENTS,
            raw_event(u("s2"), b'{"\\udfff": 1}'),
            names=ATTRS,
        ),
        Hostile(
            "lone-surrogate-event-name",
            "POST",
            EVENTS,
            json.dumps(event(u("s3"), eventName="x")).replace('"x"', '"\\ud800"').encode(),
            names="eventHeader.eventName",
        ),
        Hostile(
            "lone-surrogate-car-extra",
            "POST",
            "/cars",
            car().replace(b"}", b', "note": "\\udbff"}'),
            names="note",
        ),
        # ids over 255 characters
        Hostile(
            "uuid-256-characters",
            "POST",
            EVENTS,
            json.dumps(event("u" * 256)).encode(),
            expect=(422,),
            names="eventHeader.uuid",
        ),
        Hostile(
            "uuid-255-characters",
            "POST",
            EVENTS,
            json.dumps(event(u("l") + "u" * 236)).encode(),
            expect=(201,),
        ),
        Hostile(
            "entity-id-256-characters",
            "POST",
            EVENTS,
            json.dumps(
                {
                    "eventHeader": {"uuid": u("l2"), "eventName": "x"},
                    "eventBody": {"entities": [{"entityType": "L", "entityId": "e" * 256}]},
                }
            ).encode(),
            expect=(422,),
            names="eventBody.entities[0].entityId",
        ),
        Hostile(
            "event-name-256-characters",
            "POST",
            EVENTS,
            json.dumps(event(u("l3"), eventName="n" * 256)).encode(),
            expect=(422,),
            names="eventHeader.eventName",
        ),
        Hostile(
            "car-id-256-characters", "POST", "/cars", car(id="c" * 256), expect=(422,), names="id"
        ),
        # numbers JSON may spell but neither Python's float nor PostgreSQL's JSONB hold
        Hostile("number-1e400", "POST", EVENTS, raw_event(u("b1"), b'{"a": 1e400}'), names=ATTRS),
        Hostile(
            "number-minus-1e400", "POST", EVENTS, raw_event(u("b2"), b'{"a": -1e400}'), names=ATTRS
        ),
        Hostile(
            "integer-of-5001-digits",
            "POST",
            EVENTS,
            raw_event(u("b3"), b'{"a": 1' + b"0" * 5000 + b"}"),
            names=ATTRS,
        ),
        Hostile("token-NaN", "POST", EVENTS, raw_event(u("b4"), b'{"a": NaN}')),
        Hostile("token-Infinity", "POST", EVENTS, raw_event(u("b5"), b'{"a": -Infinity}')),
        Hostile(
            "car-year-of-5001-digits",
            "POST",
            "/cars",
            car().replace(b"2004", b"1" + b"0" * 5000),
            names="year",
        ),
        Hostile(
            "car-extra-1e400",
            "POST",
            "/cars",
            car().replace(b"}", b', "weight": 1e400}'),
            names="weight",
        ),
        Hostile(
            "created-date-1e400",
            "POST",
            EVENTS,
            json.dumps(event(u("b6"), createdDate=0))
            .replace('"createdDate": 0', '"createdDate": 1e400')
            .encode(),
            expect=(422,),
            names="eventHeader.createdDate",
        ),
        # nesting deeper than a recursive parser (or PostgreSQL) goes
        Hostile(
            "nesting-1000-arrays", "POST", EVENTS, raw_event(u("d1"), b'{"a": ' + deep_list + b"}")
        ),
        Hostile(
            "nesting-100000-arrays",
            "POST",
            EVENTS,
            raw_event(u("d2"), b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}"),
        ),
        Hostile(
            "nesting-1000-objects",
            "POST",
            EVENTS,
            raw_event(u("d3"), b'{"a": ' * 1000 + b"1" + b"}" * 1000),
        ),
        Hostile(
            "car-nesting-1000-arrays",
            "POST",
            "/cars",
            car().replace(b"}", b', "x": ' + deep_list + b"}"),
        ),
        # bytes that are not UTF-8: API Gateway passes them on as U+FFFD
        Hostile(
            "non-utf8-in-a-string",
            "POST",
            EVENTS,
            raw_event(u("u1"), b'{"a": "\xff\xfe\xc3\x28"}'),
            expect=(201, 400, 422),
        ),
        Hostile(
            "non-utf8-outside-strings",
            "POST",
            EVENTS,
            b"\xff" + json.dumps(event(u("u2"))).encode(),
            expect=(400,),
        ),
        Hostile(
            "utf8-bom",
            "POST",
            EVENTS,
            b"\xef\xbb\xbf" + json.dumps(event(u("u3"))).encode(),
            expect=(201, 400),
        ),
        # content types: JSON only
        Hostile(
            "content-type-text-plain",
            "POST",
            EVENTS,
            json.dumps(event(u("c1"))).encode(),
            "text/plain",
            (415,),
            "content",
        ),
        Hostile(
            "content-type-xml", "POST", EVENTS, b"<event/>", "application/xml", (415,), "content"
        ),
        Hostile(
            "content-type-multipart",
            "POST",
            EVENTS,
            b'--b\r\nContent-Disposition: form-data; name="eventHeader"\r\n\r\nx\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            (415,),
            "content",
        ),
        Hostile(
            "content-type-multipart-without-boundary",
            "POST",
            "/cars",
            b"--b\r\n\r\nx\r\n--b--",
            "multipart/form-data",
            (415,),
            "content",
        ),
        Hostile(
            "content-type-form",
            "POST",
            "/cars",
            b"make=a&model=b&year=2000",
            "application/x-www-form-urlencoded",
            (415,),
            "content",
        ),
        Hostile(
            "content-type-none",
            "POST",
            EVENTS,
            json.dumps(event(u("c2"))).encode(),
            None,
            (415,),
            "content",
        ),
        Hostile("content-type-none-car", "POST", "/cars", car(), None, (415,), "content"),
        Hostile(
            "content-type-json-prefix",
            "POST",
            EVENTS,
            json.dumps(event(u("c3"))).encode(),
            "application/jsonx",
            (415,),
            "content",
        ),
        Hostile(
            "content-type-vendor-json",
            "POST",
            "/cars",
            car(),
            "application/vnd.api+json",
            (415,),
            "content",
        ),
        Hostile(
            "content-type-json-upper-case",
            "POST",
            EVENTS,
            json.dumps(event(u("c4"))).encode(),
            "APPLICATION/JSON",
            (201,),
        ),
        Hostile(
            "content-type-json-charset",
            "POST",
            EVENTS,
            json.dumps(event(u("c5"))).encode(),
            "application/json; charset=utf-8",
            (201,),
        ),
        # query parameters out of range
        Hostile("limit-0", "GET", "/cars?limit=0", expect=(422,), names="limit"),
        Hostile("limit-101", "GET", "/cars?limit=101", expect=(422,), names="limit"),
        Hostile("limit-abc", "GET", "/cars?limit=abc", expect=(422,), names="limit"),
        Hostile("limit-empty", "GET", "/cars?limit=", expect=(422,), names="limit"),
        Hostile("offset-minus-1", "GET", "/cars?offset=-1", expect=(422,), names="offset"),
        Hostile("offset-abc", "GET", "/cars?offset=abc", expect=(422,), names="offset"),
        Hostile(
            "offset-2-to-the-63", "GET", f"/cars?offset={2**63}", expect=(422,), names="offset"
        ),
        Hostile(
            "offset-5000-digits", "GET", "/cars?offset=" + "9" * 5000, expect=(422,), names="offset"
        ),
        # JSON that is not an object, or no JSON at all
        Hostile(
            "duplicate-keys",
            "POST",
            EVENTS,
            raw_event(u("k1"), b'{"a": 1, "a": 2}').replace(
                b'"eventName"', b'"eventName": "x", "eventName"'
            ),
            expect=(201, 400, 422),
        ),
        Hostile("body-array", "POST", EVENTS, b"[]"),
        Hostile("body-number", "POST", EVENTS, b"1"),
        Hostile("body-string", "POST", EVENTS, b'"event"'),
        Hostile("body-null", "POST", EVENTS, b"null"),
        Hostile("body-empty", "POST", EVENTS, b"", expect=(400,)),
        Hostile(
            "body-truncated",
            "POST",
            EVENTS,
            json.dumps(event(u("t1"))).encode()[:-3],
            expect=(400,),
        ),
        Hostile("car-body-array", "POST", "/cars", b"[1]"),
        Hostile("car-body-empty", "POST", "/cars", b"", expect=(400,)),
        Hostile("get-with-a-body", "GET", "/cars?limit=1", b'{"limit": 0}', expect=(200,)),
        # path ids
        # path ids: no such id (404), or one no id can be (422 naming it)
        Hostile("event-id-percent-00", "GET", f"{EVENTS}/%00", expect=(404, 422), names="event_id"),
        Hostile(
            "event-id-5000-characters",
            "GET",
            f"{EVENTS}/{'a' * 5000}",
            expect=(404, 422),
            names="event_id",
        ),
        Hostile(
            "event-id-unicode", "GET", f"{EVENTS}/%F0%9F%98%80", expect=(404, 422), names="event_id"
        ),
        Hostile("car-id-unicode", "GET", "/cars/%C3%A9", expect=(404, 422), names="car_id"),
        Hostile(
            "car-id-percent-encoded-slash", "GET", "/cars/a%2Fb", expect=(404, 422), names="car_id"
        ),
        # methods the routes do not have
        Hostile("put-cars", "PUT", "/cars", car(), expect=(405,), names="GET, POST"),
        Hostile("delete-event", "DELETE", f"{EVENTS}/x", expect=(405,), names="GET"),
        Hostile("options-cars", "OPTIONS", "/cars", None, None, expect=(200, 204, 405)),
    ]
    return cases


HOSTILE = hostile_cases()


def assert_answer(status: int, headers: dict[str, str], content: bytes, case: Hostile) -> None:
    problems = answer_problems(status, headers, content, case.method)
    assert not problems, f"{case.name}: {problems}: {status} {content[:300]!r}"
    assert status in case.expect, (
        f"{case.name}: expected {case.expect}, got {status} {content[:300]!r}"
    )
    if case.names and 400 <= status < 500 and status != 404:
        message = json.loads(content)["message"]
        assert case.names.lower() in message.lower(), (
            f"{case.name}: {message!r} names no {case.names}"
        )


@pytest.mark.parametrize("case", HOSTILE, ids=[c.name for c in HOSTILE])
def test_hostile_request(served: Served, case: Hostile) -> None:
    status, headers, content = send(
        served, case.method, case.path, case.body or b"", case.content_type
    )
    if status >= 500:
        print(f"{case.name}: log: {_error_of(served, headers)}")
    assert_answer(status, headers, content, case)


def test_10000_entities_and_the_entity_cap(served: Served) -> None:
    limit = served.settings.producer_api.max_body_bytes
    entities = [{"entityType": "Loan", "entityId": f"loan-{i}"} for i in range(10000)]
    many = {
        "eventHeader": {"uuid": uid("m1"), "eventName": "x"},
        "eventBody": {"entities": entities},
    }
    body = json.dumps(many).encode()
    status, headers, content = send(served, "POST", EVENTS, body, JSON)
    expect = (413,) if len(body) > limit else (422,)
    assert_answer(
        status, headers, content, Hostile("10000-entities", "POST", EVENTS, expect=expect)
    )
    many["eventBody"]["entities"] = entities[:501]
    status, headers, content = send(served, "POST", EVENTS, json.dumps(many).encode(), JSON)
    assert_answer(
        status,
        headers,
        content,
        Hostile("501-entities", "POST", EVENTS, expect=(422,), names="eventBody.entities"),
    )
    many["eventBody"]["entities"] = entities[:500]
    status, headers, content = send(served, "POST", EVENTS, json.dumps(many).encode(), JSON)
    assert status == 201, content


@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_a_body_at_the_size_limit(served: Served, delta: int) -> None:
    limit = served.settings.producer_api.max_body_bytes
    body = sized_event(uid(f"size{delta + 1}"), limit + delta)
    status, headers, content = send(served, "POST", EVENTS, body, JSON)
    expect = (413,) if delta > 0 else (201,)
    assert_answer(status, headers, content, Hostile(f"size-{delta}", "POST", EVENTS, expect=expect))


def test_a_replayed_uuid_is_200_when_identical_and_409_when_not(served: Served) -> None:
    first = event(uid("r"), {"amount": 1})
    assert send(served, "POST", EVENTS, json.dumps(first).encode(), JSON)[0] == 201
    # the same document, keys in another order and spaced otherwise: the same event
    same = json.dumps(first, sort_keys=True, indent=1).encode()
    status, _, content = send(served, "POST", EVENTS, same, JSON)
    assert (status, json.loads(content)["status"]) == (200, "already exists")
    other = json.dumps(event(first["eventHeader"]["uuid"], {"amount": 2})).encode()
    status, headers, content = send(served, "POST", EVENTS, other, JSON)
    assert_answer(status, headers, content, Hostile("replay-other", "POST", EVENTS, expect=(409,)))
    got = send(served, "GET", f"{EVENTS}/{first['eventHeader']['uuid']}")
    assert (got[0], json.loads(got[2])) == (200, first)  # the original stands


def test_an_id_is_found_however_its_path_is_encoded(served: Served) -> None:
    # ':' and '@' are allowed in ids; clients (requests, schemathesis) percent-encode them in a
    # path, and API Gateway REST passes the path still encoded
    car_id = uid("enc") + ":a@b"
    assert send(served, "POST", "/cars", car(id=car_id), JSON)[0] == 201
    for path in (f"/cars/{car_id}", "/cars/" + car_id.replace(":", "%3A").replace("@", "%40")):
        status, _, content = send(served, "GET", path)
        assert status == 200 and json.loads(content)["id"] == car_id, (path, content)


def invoke(served: Served, body: bytes | str, *, base64_encoded: bool) -> tuple[int, bytes]:
    """Straight to the function, as API Gateway sends a body of a binary media type."""
    event_ = proxy_event("POST", EVENTS, {"Content-Type": JSON}, b"", "127.0.0.1")
    event_["body"] = body if isinstance(body, str) else base64.b64encode(body).decode()
    event_["isBase64Encoded"] = base64_encoded
    result = served.containers(event_, None)
    content = (result.get("body") or "").encode()
    served.tally.record("POST", EVENTS, result["statusCode"], content)
    return result["statusCode"], content


def test_base64_encoded_bodies(served: Served) -> None:
    limit = served.settings.producer_api.max_body_bytes
    good = json.dumps(event(uid("b64"))).encode()
    assert invoke(served, good, base64_encoded=True)[0] == 201
    assert invoke(served, sized_event(uid("b64big"), limit + 1), base64_encoded=True)[0] == 413
    status, content = invoke(served, raw_event(uid("b64u"), b'{"a": "\xff"}'), base64_encoded=True)
    assert status in (201, 400, 422), content
    status, content = invoke(served, "%%% not base64 %%%", base64_encoded=True)
    assert status == 400, content


def test_framing_end_to_end(served: Served) -> None:
    body = json.dumps(event(uid("chunked"))).encode()
    half = len(body) // 2
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        half,
        body[:half],
        len(body) - half,
        body[half:],
    )
    head = (
        b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\n"
    )
    status, headers, content = send_raw(
        served, head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked
    )
    assert status == 201, content
    served.tally.created.add(json.loads(content)["id"])
    for length in (b"-1", b"abc", b"1, 2"):
        status, _, content = send_raw(served, head + b"Content-Length: " + length + b"\r\n\r\n{}")
        assert status == 400 and "Content-Length" in json.loads(content)["message"]
    began = time.monotonic()
    status, _, content = send_raw(served, head + b'Content-Length: 1000\r\n\r\n{"event')
    assert status == 408 and time.monotonic() - began < READ_TIMEOUT_S + 3


def test_raw_bytes_in_the_request_line(served: Served) -> None:
    # what no client library sends: UTF-8 and a control byte unencoded in the path
    for target in (b"/cars/\xc3\xa9", b"/api/v1/events/a\x01b"):
        status, headers, content = send_raw(
            served, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        case = Hostile(target.decode("latin-1"), "GET", "", expect=(404, 422), names="_id")
        assert_answer(status, headers, content, case)


def test_the_openapi_document_is_served(served: Served) -> None:
    status, headers, content = send(served, "GET", "/openapi.json")
    assert status == 200 and json.loads(content) == json.loads(DOCUMENT)


# --- afterwards -------------------------------------------------------------------------------


def test_no_partial_event_and_exactly_the_201s_written(served: Served) -> None:
    # only what the fuzz wrote: other tests of the session write business_events rows directly
    before = sorted(served.events_before)
    with connect(served.settings) as conn:
        headless = conn.execute(
            "SELECT b.id FROM business_events b LEFT JOIN event_headers h ON h.id = b.id"
            " WHERE h.id IS NULL AND b.id <> ALL(%s)",
            (before,),
        ).fetchall()
        without_entities = conn.execute(
            "SELECT b.id FROM business_events b WHERE NOT EXISTS"
            " (SELECT 1 FROM entities e WHERE e.event_id = b.id) AND b.id <> ALL(%s)",
            (before,),
        ).fetchall()
        # every entity of the stored document has its row, and no other
        short = conn.execute(
            "SELECT b.id FROM business_events b"
            " WHERE jsonb_array_length(b.event_data->'eventBody'->'entities')"
            " <> (SELECT count(*) FROM entities e WHERE e.event_id = b.id)"
            " AND b.id <> ALL(%s)",
            (before,),
        ).fetchall()
    assert (headless, without_entities, short) == ([], [], [])
    written = event_ids(served.settings) - served.events_before
    assert len(written) == len(served.tally.created)
    assert written == served.tally.created
