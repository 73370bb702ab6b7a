"""The alerting core: decisions (pure), scrubbing, delivery with retries, the webhook shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from cdc_ops.alerts.delivery import (
    Alert,
    Alerter,
    LogDestination,
    Notification,
    Scrubber,
    Severity,
    WebhookDestination,
    deliver,
    evaluate,
    state_from_json,
    state_to_json,
)
from cdc_ops.settings import load_settings

T = datetime(2026, 11, 23, 12, tzinfo=UTC)
COOLDOWN = 3600


def alert(severity: Severity = Severity.WARNING, key: str = "rds_proxy/p/latency") -> Alert:
    return Alert("proxy_saturation", key, severity, f"{key} is {severity}", values={"ms": 150})


def kinds(notifications: list[Notification]) -> list[str]:
    return [n.kind for n in notifications]


def test_raised_once_then_quiet_within_the_cooldown_then_reminded() -> None:
    sent, state = evaluate({}, [alert()], T, COOLDOWN)
    assert kinds(sent) == ["firing"]
    for minutes in (1, 30, 59):
        sent, state = evaluate(state, [alert()], T + timedelta(minutes=minutes), COOLDOWN)
        assert sent == []
    sent, state = evaluate(state, [alert()], T + timedelta(minutes=60), COOLDOWN)
    assert kinds(sent) == ["reminder"]


def test_a_severity_change_notifies_again() -> None:
    _, state = evaluate({}, [alert(Severity.WARNING)], T, COOLDOWN)
    sent, state = evaluate(state, [alert(Severity.CRITICAL)], T + timedelta(minutes=1), COOLDOWN)
    assert kinds(sent) == ["severity changed"]
    assert state["rds_proxy/p/latency"].severity == Severity.CRITICAL
    sent, _ = evaluate(state, [alert(Severity.WARNING)], T + timedelta(minutes=2), COOLDOWN)
    assert kinds(sent) == ["severity changed"]


def test_clearing_sends_one_resolved_and_forgets() -> None:
    _, state = evaluate({}, [alert(), alert(key="rds_proxy/p/pinned_sessions")], T, COOLDOWN)
    sent, state = evaluate(state, [alert()], T + timedelta(minutes=5), COOLDOWN)
    assert kinds(sent) == ["resolved"]
    assert sent[0].alert.key == "rds_proxy/p/pinned_sessions"
    assert sent[0].alert.source == "proxy_saturation"
    assert sent[0].alert.severity is Severity.OK
    assert list(state) == ["rds_proxy/p/latency"]
    sent, state = evaluate(state, [], T + timedelta(minutes=6), COOLDOWN)
    assert kinds(sent) == ["resolved"] and state == {}
    assert evaluate(state, [], T + timedelta(minutes=7), COOLDOWN)[0] == []


def test_state_survives_the_cursor_round_trip() -> None:
    _, state = evaluate({}, [alert()], T, COOLDOWN)
    again = state_from_json(state_to_json(state))
    assert again == state
    assert evaluate(again, [alert()], T + timedelta(minutes=1), COOLDOWN)[0] == []
    assert state_from_json(None) == {} and state_from_json("") == {}


def test_nothing_secret_leaves_in_a_payload() -> None:
    settings = load_settings(
        database={"password": "Sup3r-S3cret-PW"},
        kafka={"api_key": "KAFKAKEY123", "api_secret": "kafka-secret-value"},
    )
    leaky = Alert(
        "slot_lag",
        "slot/x",
        Severity.CRITICAL,
        "cannot connect",
        details="connection to postgresql://cdc_ops:Sup3r-S3cret-PW@db:5432/x failed;"
        " password=hunter22 token: abc.def sasl.password kafka-secret-value",
        values={"dsn": "host=db password=Sup3r-S3cret-PW", "key": "KAFKAKEY123"},
    )
    sent: list[dict[str, Any]] = []

    class Recorder:
        name = "recorder"

        def send(self, body: dict[str, Any]) -> None:
            sent.append(body)

    Alerter(settings, [Recorder()]).send([Notification("firing", leaky, T)])
    text = json.dumps(sent)
    for secret in ("Sup3r-S3cret-PW", "hunter22", "abc.def", "kafka-secret-value", "KAFKAKEY123"):
        assert secret not in text
    assert "cannot connect" in text and "postgresql://cdc_ops:***@db:5432" in text


def test_scrubber_leaves_ordinary_text_alone() -> None:
    scrub = Scrubber(["moto", "long-secret-1"])  # too short to scrub safely: "moto"
    assert scrub("moto says long-secret-1") == "moto says ***"


class Flaky:
    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def send(self, body: dict[str, Any]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("endpoint unreachable")


def test_a_failing_destination_is_retried_with_backoff_and_never_raises() -> None:
    sleeps: list[float] = []
    recovers, dead = Flaky(failures=2), Flaky(failures=99)
    results = deliver(
        [Notification("firing", alert(), T)],
        [recovers, dead, LogDestination()],
        Scrubber([]),
        attempts=3,
        backoff_s=1.0,
        sleep=sleeps.append,
    )
    assert [(r.destination, r.delivered, r.attempts) for r in results] == [
        ("flaky", True, 3),
        ("flaky", False, 3),
        ("log", True, 1),
    ]
    assert results[1].error == "ConnectionError: endpoint unreachable"
    assert sleeps == [1.0, 2.0, 1.0, 2.0]  # doubling back-off, per destination


@respx.mock
def test_webhook_is_slack_compatible_and_retried_on_5xx() -> None:
    url = "https://hooks.example.invalid/services/T000/B000/XXXX"
    route = respx.post(url).mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    note = Notification("firing", alert(Severity.CRITICAL), T)
    results = deliver([note], [WebhookDestination(url)], Scrubber([url]), sleep=lambda _s: None)
    assert results[0].delivered and results[0].attempts == 2
    body = json.loads(route.calls.last.request.content)
    assert body["text"].startswith("[CRITICAL] rds_proxy/p/latency is critical")
    assert body["alert"]["severity"] == "critical" and body["alert"]["values"] == {"ms": 150}


def test_alert_settings_are_checked() -> None:
    from cdc_ops.errors import SettingsError

    with pytest.raises(SettingsError, match="destination sns needs alerts.sns_topic_arn"):
        load_settings(alerts={"destinations": ["log", "sns"]})
