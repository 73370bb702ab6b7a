"""What every `cdc-ops` command shares: exit codes, the options accepted anywhere, the output
format, and where data and progress go (data to stdout, progress and logs to stderr)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cdc_ops.adapters import Adapters
from cdc_ops.settings import Settings, load_settings

EXIT_OK = 0
EXIT_FAILED = 1  # unhealthy, or the action failed
EXIT_USAGE = 2  # a bad flag or argument, or bad settings
EXIT_UNEXPECTED = 3  # a bug or an unforeseen failure; --debug shows the traceback
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "exit codes: 0 ok; 1 unhealthy or failed; 2 usage or settings error; "
    "3 unexpected error (--debug for the traceback); 130 interrupted"
)

data_out = Console(soft_wrap=True)
progress_out = Console(stderr=True, highlight=False, soft_wrap=True)

Handler = Callable[["Context"], int]


def shared_options() -> argparse.ArgumentParser:
    """--config and --debug, accepted before or after any command (SUPPRESS: a later level only
    overrides an earlier one when given)."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="settings YAML file (default: CDC_OPS_CONFIG or ./cdc-ops.yaml)",
    )
    shared.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of an unexpected error",
    )
    return shared


def add_output_option(parser: argparse.ArgumentParser, default: str = "table") -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=["table", "json"],
        default=default,
        help="output format" + ("" if default == argparse.SUPPRESS else f" (default {default})"),
    )
    # the spelling of earlier versions, kept for scripts; SUPPRESS: only -o sets the default
    parser.add_argument(
        "--json",
        dest="output",
        action="store_const",
        const="json",
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )


@dataclass
class Context:
    """One command's arguments; settings and adapters are read on first use, once."""

    args: argparse.Namespace

    @cached_property
    def settings(self) -> Settings:
        return load_settings(getattr(self.args, "config", None))

    @cached_property
    def adapters(self) -> Adapters:
        return Adapters(self.settings)

    @property
    def as_json(self) -> bool:
        return getattr(self.args, "output", "table") == "json"


def emit(ctx: Context, data: Any, table: Callable[[], None]) -> None:
    """Data to stdout: JSON (`-o json`), or the command's table."""
    if ctx.as_json:
        print(json.dumps(data, indent=2, default=str))
    else:
        table()


def print_table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], **kwargs: Any
) -> None:
    table = Table(title=title, **kwargs)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        # values are data, never markup: a "[task-0]" in a trace stays as it is
        table.add_row(
            *(v if isinstance(v, Text) else escape("" if v is None else str(v)) for v in row)
        )
    data_out.print(table)


def styled(value: object, style: str) -> Text:
    """A table cell in a colour (a state: green when healthy)."""
    return Text(str(value), style=style)


def say(message: str) -> None:
    """Progress and notes: stderr, so stdout stays data."""
    progress_out.print(message, markup=False)


def add_noun(
    commands: argparse._SubParsersAction,
    name: str,
    shared: argparse.ArgumentParser,
    **kwargs: Any,
) -> argparse._SubParsersAction:
    """A noun's parser; returns where its verbs go."""
    noun = add_command(commands, name, shared, **kwargs)
    return noun.add_subparsers(dest="action", required=True, metavar="ACTION")


def add_command(
    commands: argparse._SubParsersAction,
    name: str,
    shared: argparse.ArgumentParser,
    handler: Handler | None = None,
    **kwargs: Any,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, parents=[shared], epilog=EXIT_CODES_HELP, **kwargs)
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser
