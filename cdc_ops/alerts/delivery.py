"""Alerts: raised once, repeated only after a cooldown or a change of severity, and resolved.

`evaluate` is pure: it takes what the caller remembered (a sensor keeps it in its cursor) and
what is wrong now, and says what to send. `deliver` sends each notification to every configured
destination (the log, SNS, a Slack-compatible webhook), retrying with back-off; a destination
that keeps failing is reported, never raised. Payloads are scrubbed of every secret in settings.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol

import httpx

from cdc_ops.settings import Settings

log = logging.getLogger("cdc_ops.alerts.delivery")


class Severity(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Alert:
    source: str  # what raised it: "proxy_saturation", "slot_lag", "run_failure", ...
    key: str  # what it is about, stable across ticks: "rds_proxy/<name>/borrow_latency"
    severity: Severity
    summary: str
    details: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    runbook: str = ""


@dataclass(frozen=True)
class Notification:
    kind: str  # "firing", "reminder", "severity changed", "resolved", "event"
    alert: Alert
    at: datetime


@dataclass
class Remembered:
    source: str
    severity: int
    summary: str
    first_at: str
    last_sent_at: str


AlertState = dict[str, Remembered]


def state_to_json(state: AlertState) -> str:
    return json.dumps({k: asdict(v) for k, v in sorted(state.items())})


def state_from_json(text: str | None) -> AlertState:
    if not text:
        return {}
    return {k: Remembered(**v) for k, v in json.loads(text).items()}


def evaluate(
    state: AlertState, active: Iterable[Alert], now: datetime, cooldown_s: float
) -> tuple[list[Notification], AlertState]:
    """What to send, given the conditions active now; and the state to remember."""
    notifications: list[Notification] = []
    new_state: AlertState = {}
    seen: set[str] = set()
    for alert in active:
        if alert.key in seen or alert.severity is Severity.OK:
            continue
        seen.add(alert.key)
        before = state.get(alert.key)
        stamp = now.isoformat()
        if before is None:
            notifications.append(Notification("firing", alert, now))
            new_state[alert.key] = Remembered(
                alert.source, int(alert.severity), alert.summary, stamp, stamp
            )
        elif before.severity != int(alert.severity):
            notifications.append(Notification("severity changed", alert, now))
            new_state[alert.key] = Remembered(
                alert.source, int(alert.severity), alert.summary, before.first_at, stamp
            )
        elif (now - datetime.fromisoformat(before.last_sent_at)).total_seconds() >= cooldown_s:
            notifications.append(Notification("reminder", alert, now))
            new_state[alert.key] = Remembered(
                alert.source, before.severity, alert.summary, before.first_at, stamp
            )
        else:
            new_state[alert.key] = before
    for key, before in state.items():
        if key not in seen:
            resolved = Alert(
                before.source,
                key,
                Severity.OK,
                f"resolved: {before.summary}",
                details=f"first raised at {before.first_at}",
            )
            notifications.append(Notification("resolved", resolved, now))
    return notifications, new_state


# --- payloads ---------------------------------------------------------------------------------

_SECRET_PATTERNS = (
    re.compile(r"(password|passwd|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)(\S+)", re.I),
    re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)"),
)
_MIN_SECRET_LEN = 6  # shorter "secrets" (moto's dummy keys) would mangle ordinary words


class Scrubber:
    def __init__(self, secrets: Sequence[str]) -> None:
        self._secrets = sorted(
            {s for s in secrets if len(s) >= _MIN_SECRET_LEN}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = _SECRET_PATTERNS[0].sub(lambda m: f"{m[1]}{m[2]}***", text)
        return _SECRET_PATTERNS[1].sub(lambda m: f"{m[1]}***{m[3]}", text)


def payload(notification: Notification, scrub: Callable[[str], str]) -> dict[str, Any]:
    a = notification.alert
    body = {
        "kind": notification.kind,
        "source": a.source,
        "key": a.key,
        "severity": str(a.severity),
        "summary": a.summary,
        "details": a.details,
        "values": a.values,
        "runbook": a.runbook,
        "at": notification.at.isoformat(),
    }
    return _scrub_all(json.loads(json.dumps(body, default=str)), scrub)


def _scrub_all(value: Any, scrub: Callable[[str], str]) -> Any:
    """Scrub every string in a JSON-shaped value (keys included)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): _scrub_all(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_all(v, scrub) for v in value]
    return value


def headline(body: dict[str, Any]) -> str:
    mark = {"critical": "CRITICAL", "warning": "WARNING", "ok": "RESOLVED"}[body["severity"]]
    return f"[{mark}] {body['summary']}"


# --- destinations -----------------------------------------------------------------------------


class Destination(Protocol):
    name: str

    def send(self, body: dict[str, Any]) -> None: ...


class LogDestination:
    name = "log"

    def send(self, body: dict[str, Any]) -> None:
        level = logging.INFO if body["severity"] == "ok" else logging.WARNING
        log.log(level, json.dumps({"alert": body}, sort_keys=True))


class SnsDestination:
    name = "sns"

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn

    def send(self, body: dict[str, Any]) -> None:
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=headline(body)[:100],  # SNS subjects stop at 100 characters
            Message=json.dumps(body, indent=2, sort_keys=True),
            MessageAttributes={
                "severity": {"DataType": "String", "StringValue": body["severity"]},
                "source": {"DataType": "String", "StringValue": body["source"]},
            },
        )


class WebhookDestination:
    """A Slack-compatible incoming webhook: `text` for Slack, the whole alert beside it."""

    name = "webhook"

    def __init__(self, url: str, http: httpx.Client | None = None) -> None:
        self._url = url
        self._http = http or httpx.Client(timeout=10)

    def send(self, body: dict[str, Any]) -> None:
        text = f"{headline(body)}\n{body['details']}".strip()
        if body["runbook"]:
            text += f"\nRunbook: {body['runbook']}"
        response = self._http.post(self._url, json={"text": text, "alert": body})
        response.raise_for_status()


@dataclass(frozen=True)
class Delivery:
    destination: str
    delivered: bool
    attempts: int
    error: str | None = None


def deliver(
    notifications: Sequence[Notification],
    destinations: Sequence[Destination],
    scrub: Callable[[str], str],
    *,
    attempts: int = 3,
    backoff_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    budget_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Delivery]:
    """Send every notification everywhere; retry each failing send with back-off, all within
    `budget_s` in total: once it is spent, what is left is reported undelivered, not retried."""
    results = []
    deadline = None if budget_s is None else clock() + budget_s
    for notification in notifications:
        body = payload(notification, scrub)
        for destination in destinations:
            error = None
            made = 0  # sends really made: the budget may stop the loop before one
            for attempt in range(1, attempts + 1):
                if deadline is not None and clock() >= deadline:
                    error = error or f"not attempted: the tick's {budget_s:g} s budget was spent"
                    break
                made += 1
                try:
                    destination.send(body)
                    error = None
                    break
                except Exception as exc:  # noqa: BLE001 - a destination must not stop the others
                    error = scrub(f"{type(exc).__name__}: {exc}")
                    if attempt < attempts:
                        pause = backoff_s * 2 ** (attempt - 1)
                        if deadline is not None:
                            pause = min(pause, max(0.0, deadline - clock()))
                        sleep(pause)
            if error:
                log.error(
                    "alert %s not delivered to %s after %d attempt(s): %s",
                    body["key"],
                    destination.name,
                    made,
                    error,
                )
            results.append(Delivery(destination.name, error is None, made, error))
    return results


def runbook_link(settings: Settings, anchor: str) -> str:
    return f"{settings.alerts.runbook_base_url}#{anchor}"


class Alerter:
    """The alerting core a sensor uses: remember, decide, deliver."""

    def __init__(
        self,
        settings: Settings,
        destinations: Sequence[Destination],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.destinations = list(destinations)
        self.scrub = Scrubber(settings.secret_values())
        self._sleep = sleep

    def tick(
        self, state: AlertState, active: Iterable[Alert], now: datetime
    ) -> tuple[list[Notification], list[Delivery], AlertState]:
        notifications, new_state = evaluate(state, active, now, self.settings.alerts.cooldown_s)
        deliveries = self.send(notifications)
        return notifications, deliveries, new_state

    def send(self, notifications: Sequence[Notification]) -> list[Delivery]:
        cfg = self.settings.alerts
        return deliver(
            notifications,
            self.destinations,
            self.scrub,
            attempts=cfg.retry_attempts,
            backoff_s=cfg.retry_backoff_s,
            sleep=self._sleep,
            budget_s=cfg.tick_budget_s,
        )
