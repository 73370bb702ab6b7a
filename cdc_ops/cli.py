"""The `cdc-ops` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from cdc_ops.errors import CdcOpsError
from cdc_ops.settings import Settings, load_settings
from cdc_ops.stack import COMPONENT_NAMES, Stack, State, StatusRow

console = Console()

_STATE_STYLE = {
    State.RUNNING: "green",
    State.STOPPED: "dim",
    State.DEAD: "bold red",
    State.NOT_ANSWERING: "yellow",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdc-ops",
        description="Operations control plane for the CDC pipeline "
        "(Aurora -> Debezium -> Kafka -> Flink SQL -> consumers).",
        epilog="Settings come from CDC_OPS_* environment variables and an optional YAML file "
        "(--config, CDC_OPS_CONFIG or ./cdc-ops.yaml). `cdc-ops settings` shows what is in effect.",
    )
    parser.add_argument("--config", metavar="FILE", help="settings YAML file")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stack = commands.add_parser(
        "stack",
        help="manage the local stack (PostgreSQL, PgBouncer, Kafka broker, moto)",
        description="The local stack stands in for Aurora, RDS Proxy, Kafka and the AWS APIs. "
        "Its state (data, logs, PIDs) lives under local.state_dir (default .cdc-ops/).",
    )
    actions = stack.add_subparsers(dest="action", required=True, metavar="ACTION")
    component_help = f"components to act on (default: all of {', '.join(COMPONENT_NAMES)})"
    up = actions.add_parser("up", help="start what is not running (idempotent)")
    up.add_argument("components", nargs="*", help=component_help)
    down = actions.add_parser("down", help="stop exactly the processes `up` started")
    down.add_argument("components", nargs="*", help=component_help)
    status = actions.add_parser(
        "status", help="one row per component; exit 1 unless every component runs"
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")

    dev = commands.add_parser(
        "dev",
        help="stack up, then the Dagster UI (dagster dev) until Ctrl-C or SIGTERM",
        description="Starts the local stack (if needed) and `dagster dev` with telemetry off. "
        "Ctrl-C or SIGTERM stops Dagster and whatever part of the stack this command started.",
    )
    dev.add_argument("--no-stack", action="store_true", help="do not start the local stack")

    commands.add_parser("settings", help="print the settings in effect (secrets masked)")
    return parser


def _print_status(rows: Sequence[StatusRow], as_json: bool) -> None:
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "component": r.component,
                        "address": r.address,
                        "state": r.state.value,
                        "detail": r.detail,
                        "pid": r.pid,
                    }  # fmt: skip
                    for r in rows
                ]
            )
        )
        return
    table = Table(title="local stack")
    for column in ("component", "address", "state", "detail"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r.component, r.address, f"[{_STATE_STYLE[r.state]}]{r.state}[/]", r.detail)
    console.print(table)


def _stack(settings: Settings, args: argparse.Namespace) -> int:
    stack = Stack(settings)
    if args.action == "up":
        with console.status("starting the local stack") as spinner:
            stack.up(
                args.components,
                progress=lambda m: (console.print(m, highlight=False), spinner.update(m)),
            )
        _print_status(stack.status(args.components), as_json=False)
        return 0
    if args.action == "down":
        stack.down(args.components, progress=lambda m: console.print(m, highlight=False))
        return 0
    rows = stack.status()
    _print_status(rows, args.json)
    return 0 if all(r.state is State.RUNNING for r in rows) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        if args.command == "stack":
            return _stack(settings, args)
        if args.command == "dev":
            from cdc_ops.devserver import run_dev

            return run_dev(settings, start_stack=not args.no_stack, config_file=args.config)
        if args.command == "settings":
            console.print_json(settings.model_dump_json())
            return 0
    except CdcOpsError as exc:
        # plain text: no wrapping, and a "[env X]" in the message is not taken for markup
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
