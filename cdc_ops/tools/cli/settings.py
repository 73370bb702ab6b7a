"""`cdc-ops settings show|check`: the settings in effect (secrets masked), or only whether they
are valid."""

from __future__ import annotations

import argparse
import json

from cdc_ops.tools.cli.common import (
    EXIT_OK,
    Context,
    add_command,
    add_output_option,
    emit,
    print_table,
    say,
)


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    settings = add_command(
        commands,
        "settings",
        shared,
        _show,
        help="the settings in effect (secrets masked); `settings check` only validates",
        description="Settings come from CDC_OPS_* environment variables (`__` between nested "
        "keys) and an optional YAML file (--config, CDC_OPS_CONFIG or ./cdc-ops.yaml). A "
        "misspelt key or variable is an error that names it.",
    )
    add_output_option(settings, default="json")
    actions = settings.add_subparsers(dest="action", metavar="ACTION")
    show = add_command(actions, "show", shared, _show, help="print the settings (default)")
    # SUPPRESS: `settings -o table show` keeps the -o given before the verb
    add_output_option(show, default=argparse.SUPPRESS)
    add_command(actions, "check", shared, _check, help="exit 0 when the settings are valid")


def _show(ctx: Context) -> int:
    data = json.loads(ctx.settings.model_dump_json())
    emit(ctx, data, lambda: print_table(None, ("setting", "value"), _flat(data)))
    return EXIT_OK


def _check(ctx: Context) -> int:
    say(f"settings are valid (env={ctx.settings.env.value})")
    return EXIT_OK


def _flat(data: object, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(data, dict):
        return [row for k, v in data.items() for row in _flat(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), json.dumps(data))]
