"""The `cdc-ops` command line: one module per noun, each registering its parser beside its
handlers; this module only assembles them and turns outcomes into exit codes.

argparse (standard library) rather than click or typer: the parsers are plain data each noun
module adds to, and nothing more is needed than parents for the options accepted anywhere.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from cdc_ops.errors import CdcOpsError
from cdc_ops.tools.cli import (
    api,
    cluster,
    connector,
    control_plane,
    filters,
    kafka,
    lambdas,
    proxy,
    stack,
    status,
)
from cdc_ops.tools.cli import settings as settings_command
from cdc_ops.tools.cli.common import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_UNEXPECTED,
    Context,
    shared_options,
)

# in the order `--help` lists them: the pipeline's parts from source to consumers, then tooling
NOUNS = (
    status,
    cluster,
    proxy,
    connector,
    kafka,
    filters,
    stack,
    control_plane,
    api,
    lambdas,
    settings_command,
)


def _version() -> str:
    try:
        return version("cdc-ops")
    except PackageNotFoundError:  # run from a tree that was never installed
        return "unknown"


def parser() -> argparse.ArgumentParser:
    shared = shared_options()
    root = argparse.ArgumentParser(
        prog="cdc-ops",
        parents=[shared],
        description="Operations control plane for the CDC pipeline "
        "(Aurora -> Debezium -> Kafka -> Flink SQL -> consumers).",
        epilog="Settings come from CDC_OPS_* environment variables and an optional YAML file "
        "(--config, CDC_OPS_CONFIG or ./cdc-ops.yaml); `cdc-ops settings` shows what is in "
        "effect. Data goes to stdout (-o json on every command that prints data), progress and "
        f"logs to stderr. {EXIT_CODES_HELP}.",
    )
    root.add_argument("--version", action="version", version=f"cdc-ops {_version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for noun in NOUNS:
        noun.register(commands, shared)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)  # a usage error exits 2 here, as argparse does
    debug = getattr(args, "debug", False)
    try:
        return args.handler(Context(args))
    except CdcOpsError as exc:
        # plain text: no wrapping, and a "[env X]" in the message is not taken for markup
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - anything unforeseen: said plainly, exit 3
        if debug:
            traceback.print_exc()
        else:
            print(
                f"error: unexpected {type(exc).__name__}: {exc} (--debug shows the traceback)",
                file=sys.stderr,
            )
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
