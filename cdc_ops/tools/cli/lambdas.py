"""`cdc-ops lambda package NAME`: a deployable, reproducible zip of one Lambda."""

from __future__ import annotations

import argparse
from pathlib import Path

from cdc_ops.tools.cli.common import (
    EXIT_OK,
    Context,
    add_command,
    add_noun,
    add_output_option,
    emit,
    say,
)


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    actions = add_noun(commands, "lambda", shared, help="build deployable Lambda zips: package")
    package = add_command(
        actions,
        "package",
        shared,
        _package,
        help="build NAME.zip: the handler, the cdc_ops modules it imports, its dependencies",
    )
    package.add_argument("name", help="producer_api_pg, producer_api_dsql, auto_start, auto_stop")
    package.add_argument("--out", default="dist", help="output directory (default: dist/)")
    package.add_argument(
        "--arch",
        choices=["x86_64", "arm64"],
        default="x86_64",
        help="the Lambda's architecture (default x86_64)",
    )
    add_output_option(package)


def _package(ctx: Context) -> int:
    from cdc_ops.tools.packaging import LAMBDAS, build

    args = ctx.args
    path = build(args.name, Path(args.out), arch=args.arch, progress=say)
    data = {
        "lambda": args.name,
        "zip": str(path),
        "bytes": path.stat().st_size,
        "handler": LAMBDAS[args.name].handler,
    }
    emit(ctx, data, lambda: print(path))
    return EXIT_OK
