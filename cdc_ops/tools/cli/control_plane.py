"""`cdc-ops control-plane dev|webserver|daemon`: the Dagster control plane, on this machine with
the local stack (`dev`, also spelt `cdc-ops dev`) or as one deployed process."""

from __future__ import annotations

import argparse

from cdc_ops.tools.cli.common import Context, add_command


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    plane = add_command(
        commands,
        "control-plane",
        shared,
        help="the Dagster control plane: dev (with the local stack), webserver, daemon",
        description="`dev` starts the local stack (if needed) and `dagster dev` with telemetry "
        "off, until Ctrl-C or SIGTERM. `webserver` and `daemon` are what the deployed "
        "containers run (terraform/modules/dagster): they write DAGSTER_HOME/dagster.yaml "
        "(PostgreSQL storage from dagster.postgres_storage_url), then replace themselves with "
        "dagster-webserver (on dagster.host:dagster.port) or dagster-daemon. Run exactly one "
        "daemon per Dagster instance.",
    )
    roles = plane.add_subparsers(dest="role", required=True, metavar="ROLE")
    _dev_arguments(add_command(roles, "dev", shared, _dev, help="stack up, then the Dagster UI"))
    for role in ("webserver", "daemon"):
        add_command(roles, role, shared, _deployed, help=f"exec dagster-{role}")
    # `cdc-ops dev`, what `make run` runs
    _dev_arguments(
        add_command(
            commands,
            "dev",
            shared,
            _dev,
            help="stack up, then the Dagster UI until Ctrl-C (alias of `control-plane dev`)",
        )
    )


def _dev_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-stack", action="store_true", help="do not start the local stack")


def _dev(ctx: Context) -> int:
    from cdc_ops.tools.devserver import run_dev

    return run_dev(
        ctx.adapters,
        start_stack=not ctx.args.no_stack,
        config_file=getattr(ctx.args, "config", None),
    )


def _deployed(ctx: Context) -> int:
    from cdc_ops.tools.devserver import run_control_plane

    run_control_plane(ctx.settings, ctx.args.role)  # execs Dagster: returns only by raising
    raise AssertionError("run_control_plane returned")
