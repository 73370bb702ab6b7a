"""`cdc-ops cluster status|stop|start|auto-stop`: the Aurora cluster (locally the stack's
PostgreSQL, really stopped and started)."""

from __future__ import annotations

import argparse
from typing import Any

from cdc_ops.cluster.auto_stop import auto_stop
from cdc_ops.cluster.connector_hold import resume_held_connector
from cdc_ops.cluster.control import ActionResult
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


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    actions = add_noun(
        commands,
        "cluster",
        shared,
        help="the Aurora cluster: status, stop, start, auto-stop",
        description="Acts on the cluster (never its instances), only from available/stopped, "
        "recording each action and its reason as cluster tags. Locally the stack's PostgreSQL "
        "is really stopped and started.",
    )
    status = add_command(
        actions, "status", shared, _status, help="status, engine, endpoint and the last action"
    )
    add_output_option(status)
    for verb in ("stop", "start"):
        sub = add_command(actions, verb, shared, _act, help=f"{verb} the cluster now (idempotent)")
        sub.add_argument("--reason", default="requested from the command line")
        add_output_option(sub)
    auto = add_command(
        actions,
        "auto-stop",
        shared,
        _auto_stop,
        help="run the auto-stop decision once (what the hourly schedule does)",
    )
    auto.add_argument("--dry-run", action="store_true", help="decide and explain; do not stop")
    add_output_option(auto)


def _status(ctx: Context) -> int:
    state = ctx.adapters.cluster_controller.describe()
    last = state.last_action
    data = {
        "cluster_id": state.cluster_id,
        "status": state.status,
        "engine": f"{state.engine} {state.engine_version}".strip(),
        "endpoint": state.endpoint,
        "observed_via": state.observed_via,
        "last_action": None
        if last is None
        else {"action": last.action, "at": last.at.isoformat(), "reason": last.reason},
    }
    rows = [(k, v) for k, v in data.items() if k != "last_action"]
    if last is not None:
        rows.append(("last_action", f"{last.action} at {last.at.isoformat()}: {last.reason}"))
    emit(ctx, data, lambda: print_table(None, ("", ""), rows, show_header=False))
    return EXIT_OK


def _result(result: ActionResult) -> dict[str, Any]:
    return {
        "action": result.action,
        "performed": result.performed,
        "status_before": result.status_before,
        "outcome": result.outcome,
        "reason": result.reason,
        "at": result.at.isoformat(),
        "connector": result.connector,
    }


def _act(ctx: Context) -> int:
    action = ctx.args.action
    result = getattr(ctx.adapters.cluster_controller, action)(f"manual: {ctx.args.reason}")
    data = _result(result)
    # the connector cdc-ops stopped with the cluster is resumed once the cluster is available
    resumed = resume_held_connector(ctx.adapters) if action == "start" else None
    if resumed is not None:
        data["connector"] = resumed.says

    def text() -> None:
        print(f"{action}: {result.outcome} (was {result.status_before})")
        if data["connector"]:
            print(data["connector"])

    emit(ctx, data, text)
    return EXIT_FAILED if resumed is not None and not resumed.streaming else EXIT_OK


def _auto_stop(ctx: Context) -> int:
    run = auto_stop(ctx.adapters, dry_run=ctx.args.dry_run)
    decision = run.decision
    if ctx.args.dry_run:
        outcome = "dry run: nothing done"
    else:
        outcome = run.result.outcome if run.result else "nothing done"
    data = {
        "cluster_id": run.cluster.cluster_id,
        "action": decision.action.value,
        "reason": decision.reason,
        "evidence": decision.evidence,
        "dry_run": ctx.args.dry_run,
        "outcome": outcome,
        "result": _result(run.result) if run.result else None,
    }

    def text() -> None:
        print(f"{decision.action.value}: {decision.reason} ({outcome})")
        print_table("evidence", ("", ""), decision.evidence.items(), show_header=False)

    emit(ctx, data, text)
    return EXIT_OK
