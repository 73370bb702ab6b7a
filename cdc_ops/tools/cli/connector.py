"""`cdc-ops connector status|pause|resume|restart|stop|offsets|snapshot`: the CDC connector, on
whichever backend runs it (Kafka Connect, locally the stack's worker, or Confluent Cloud).

Every action is idempotent (pausing a PAUSED connector does nothing and says so), waits until
the worker shows the state it aims at, and takes a --reason that is printed with the result.
`offsets --reset` stops the connector, forgets its source offsets and resumes it: the connector
then snapshots again as connector.snapshot_mode says."""

from __future__ import annotations

import argparse
from typing import Any

from cdc_ops.connector.actions import ActionResult, Verb, perform
from cdc_ops.connector.config import CAPTURED_TABLES
from cdc_ops.connector.resnapshot import run_snapshot
from cdc_ops.tools.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Context,
    add_command,
    add_noun,
    add_output_option,
    emit,
    print_table,
)

_ACTIONS = {
    "pause": (Verb.PAUSE, "pause the connector (its tasks stop reading the slot)"),
    "resume": (Verb.RESUME, "resume a paused or stopped connector"),
    "restart": (Verb.RESTART, "restart the connector and its tasks"),
    "stop": (Verb.STOP, "stop the connector (its tasks shut down; offsets can be reset)"),
}


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    actions = add_noun(
        commands,
        "connector",
        shared,
        help="the CDC connector: status, pause, resume, restart, stop, offsets, snapshot",
        description=__doc__,
    )
    status = add_command(
        actions, "status", shared, _status, help="state, tasks and metrics; exit 1 unless it runs"
    )
    add_output_option(status)
    for name, (verb, help_text) in _ACTIONS.items():
        sub = add_command(actions, name, shared, _act, help=help_text)
        sub.set_defaults(verb=verb)
        if verb is Verb.RESTART:
            sub.add_argument(
                "--failed-only",
                action="store_true",
                help="restart only what failed (the connector if it failed, and failed tasks)",
            )
        _action_options(sub)
    offsets = add_command(
        actions, "offsets", shared, _offsets, help="show the source offsets, or --reset them"
    )
    offsets.add_argument(
        "--reset",
        action="store_true",
        help="stop the connector, forget its offsets and resume it (it snapshots again)",
    )
    _action_options(offsets)
    snapshot = add_command(
        actions,
        "snapshot",
        shared,
        _snapshot,
        help="re-snapshot a table incrementally while streaming goes on (rows sent as __op r)",
    )
    snapshot.add_argument(
        "--table",
        action="append",
        dest="tables",
        metavar="SCHEMA.TABLE",
        help=f"a captured table (repeatable; default {', '.join(CAPTURED_TABLES)})",
    )
    snapshot.add_argument(
        "--no-wait", action="store_true", help="write the signal and return at once"
    )
    _action_options(snapshot, timeout=900.0, waits_for="the snapshot to complete")


def _action_options(
    sub: argparse.ArgumentParser,
    timeout: float = 60.0,
    waits_for: str = "the worker to show the new state",
) -> None:
    sub.add_argument(
        "--reason",
        default="requested from the command line",
        help="why: printed with the result (default: %(default)s)",
    )
    sub.add_argument(
        "--timeout",
        type=float,
        default=timeout,
        metavar="SECONDS",
        help=f"how long to wait for {waits_for} (default %(default)g)",
    )
    add_output_option(sub)


def _status(ctx: Context) -> int:
    backend = ctx.adapters.connector_backend
    s = backend.status()
    m = ctx.adapters.connector_metrics.read()
    data = {
        "name": s.name,
        "backend": backend.kind,
        "state": s.state,
        "worker_id": s.worker_id,
        "healthy": s.healthy,
        "trace": s.trace,
        "tasks": [
            {"id": t.id, "state": t.state, "worker_id": t.worker_id, "trace": t.trace}
            for t in s.tasks
        ],
        "metrics": {
            "source": m.source,
            "connected": m.connected,
            "ms_behind_source": m.ms_behind_source,
            "total_events_seen": m.total_events_seen,
            "snapshot_running": m.snapshot_running,
            "snapshot_completed": m.snapshot_completed,
            "unavailable": m.unavailable,
        },
    }
    rows = [(f"{s.name} (on {backend.kind})", s.state, s.worker_id, s.trace[:200])]
    rows += [(f"task {t.id}", t.state, t.worker_id, t.trace[:200]) for t in s.tasks]

    def text() -> None:
        print_table("connector", ("", "state", "worker", "trace"), rows)
        figures = [(k, "n/a" if v is None else str(v)) for k, v in data["metrics"].items()]
        print_table("metrics", ("", ""), figures, show_header=False)

    emit(ctx, data, text)
    return EXIT_OK if s.healthy else EXIT_FAILED


def _say(ctx: Context, result: ActionResult) -> int:
    def text() -> None:
        print(
            f"{result.verb}: {result.outcome} (was {result.state_before}; reason: {result.reason})"
        )
        if result.verb == Verb.RESET_OFFSETS:
            print(f"offsets before: {result.offsets_before}")
            print(f"offsets after:  {result.offsets_after}")

    emit(ctx, result.as_dict(), text)
    reached = not result.performed or not result.outcome.startswith("asked")
    return EXIT_OK if reached else EXIT_FAILED


def _act(ctx: Context) -> int:
    a = ctx.args
    result = perform(
        ctx.adapters.connector_backend,
        a.verb,
        a.reason,
        failed_only=getattr(a, "failed_only", False),
        timeout_s=a.timeout,
    )
    return _say(ctx, result)


def _offsets(ctx: Context) -> int:
    a = ctx.args
    backend = ctx.adapters.connector_backend
    if a.reset:
        return _say(ctx, perform(backend, Verb.RESET_OFFSETS, a.reason, timeout_s=a.timeout))
    offsets: list[dict[str, Any]] = backend.offsets()
    rows = [(str(o.get("partition")), str(o.get("offset"))) for o in offsets]
    emit(ctx, {"offsets": offsets}, lambda: print_table("offsets", ("partition", "offset"), rows))
    return EXIT_OK


def _snapshot(ctx: Context) -> int:
    a = ctx.args
    progress = (lambda p: None) if ctx.as_json else (lambda p: print(p.says))
    run = run_snapshot(
        ctx.settings,
        ctx.adapters.connector_metrics,
        a.tables or CAPTURED_TABLES,
        wait=not a.no_wait,
        timeout_s=a.timeout,
        on_progress=progress,
    )
    data = {
        "signal_id": run.signal_id,
        "tables": list(run.tables),
        "done": run.done,
        "outcome": run.says,
        "waited_s": round(run.waited_s, 1),
        "reason": a.reason,
    }
    emit(ctx, data, lambda: print(f"snapshot {run.signal_id}: {run.says} (reason: {a.reason})"))
    return EXIT_OK if run.done or a.no_wait else EXIT_FAILED
