"""`cdc-ops status`: the whole pipeline in one table, from one read of every part (the same
verdicts as the Dagster checks and sensors)."""

from __future__ import annotations

import argparse

from cdc_ops.health.reading import pipeline_status
from cdc_ops.tools.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Context,
    add_command,
    add_output_option,
    emit,
    print_table,
    styled,
)


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    status = add_command(
        commands,
        "status",
        shared,
        _status,
        help="the whole pipeline in one table; exit 1 when anything is unhealthy",
    )
    add_output_option(status)


def _status(ctx: Context) -> int:
    rows = pipeline_status(ctx.adapters)

    cells = (
        (r.part, r.name, styled(r.state, "green" if r.healthy else "bold red"), r.figure)
        for r in rows
    )
    emit(
        ctx,
        [r.as_dict() for r in rows],
        lambda: print_table("pipeline", ("part", "name", "state", "figure"), cells),
    )
    return EXIT_OK if all(r.healthy for r in rows) else EXIT_FAILED
