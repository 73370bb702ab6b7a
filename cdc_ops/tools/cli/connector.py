"""`cdc-ops connector status`: the CDC connector's state and tasks, on whichever backend runs it
(Kafka Connect, locally the stack's worker, or Confluent Cloud)."""

from __future__ import annotations

import argparse

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
        commands, "connector", shared, help="the CDC connector: status", description=__doc__
    )
    status = add_command(
        actions, "status", shared, _status, help="state and tasks; exit 1 unless it runs"
    )
    add_output_option(status)


def _status(ctx: Context) -> int:
    backend = ctx.adapters.connector_backend
    s = backend.status()
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
    }
    rows = [(f"{s.name} (on {backend.kind})", s.state, s.worker_id, s.trace[:200])]
    rows += [(f"task {t.id}", t.state, t.worker_id, t.trace[:200]) for t in s.tasks]
    emit(ctx, data, lambda: print_table("connector", ("", "state", "worker", "trace"), rows))
    return EXIT_OK if s.healthy else EXIT_FAILED
