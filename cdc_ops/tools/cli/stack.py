"""`cdc-ops stack up|down|status`: the local stack (PostgreSQL, PgBouncer, Kafka, moto, the
connector worker)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from cdc_ops.tools.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Context,
    add_command,
    add_noun,
    add_output_option,
    emit,
    print_table,
    progress_out,
    say,
    styled,
)
from cdc_ops.tools.stack import COMPONENT_NAMES, State, StatusRow

_STATE_STYLE = {
    State.RUNNING: "green",
    State.STOPPED: "dim",
    State.DEAD: "bold red",
    State.NOT_ANSWERING: "yellow",
}


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    actions = add_noun(
        commands,
        "stack",
        shared,
        help="the local stack: up, down, status",
        description="The local stack stands in for Aurora, RDS Proxy, Kafka and the AWS APIs. "
        "Its state (data, logs, PIDs) lives under local.state_dir (default .cdc-ops/).",
    )
    component_help = f"components to act on (default: all of {', '.join(COMPONENT_NAMES)})"
    up = add_command(actions, "up", shared, _up, help="start what is not running (idempotent)")
    up.add_argument("components", nargs="*", help=component_help)
    add_output_option(up)
    down = add_command(actions, "down", shared, _down, help="stop exactly what `up` started")
    down.add_argument("components", nargs="*", help=component_help)
    status = add_command(
        actions, "status", shared, _status, help="one row per component; 1 unless all run"
    )
    add_output_option(status)


def _up(ctx: Context) -> int:
    stack = ctx.adapters.stack
    with progress_out.status("starting the local stack") as spinner:
        stack.up(ctx.args.components, progress=lambda m: (say(m), spinner.update(m)))
    _show(ctx, stack.status(ctx.args.components))
    return EXIT_OK


def _down(ctx: Context) -> int:
    ctx.adapters.stack.down(ctx.args.components, progress=say)
    return EXIT_OK


def _status(ctx: Context) -> int:
    rows = ctx.adapters.stack.status()
    _show(ctx, rows)
    return EXIT_OK if all(r.state is State.RUNNING for r in rows) else EXIT_FAILED


def _show(ctx: Context, rows: Sequence[StatusRow]) -> None:
    data = [
        {
            "component": r.component,
            "address": r.address,
            "state": r.state.value,
            "detail": r.detail,
            "pid": r.pid,
        }
        for r in rows
    ]
    emit(
        ctx,
        data,
        lambda: print_table(
            "local stack",
            ("component", "address", "state", "detail"),
            (
                (r.component, r.address, styled(r.state, _STATE_STYLE[r.state]), r.detail)
                for r in rows
            ),
        ),
    )
