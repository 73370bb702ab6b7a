"""`cdc-ops proxy status|load`: RDS Proxy (PgBouncer locally): are clients waiting to borrow a
database connection, and a load generator to see it happen."""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import asdict

from cdc_ops.health.verdicts import proxy_health
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
)


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    actions = add_noun(
        commands, "proxy", shared, help="RDS Proxy (PgBouncer locally): status, load"
    )
    status = add_command(
        actions, "status", shared, _status, help="borrow latency and borrowed share; 1 if saturated"
    )
    add_output_option(status)
    load = add_command(
        actions,
        "load",
        shared,
        _load,
        help="put the proxy under load (more clients than its pool) to see saturation alerts",
    )
    _load_arguments(load)
    # `cdc-ops load`, the spelling of earlier versions
    _load_arguments(add_command(commands, "load", shared, _load, help="alias of `proxy load`"))


def _load_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--seconds", type=float, default=30, help="how long (default 30)")
    parser.add_argument(
        "--query-seconds",
        type=float,
        default=0.5,
        help="how long each query holds a connection (default 0.5)",
    )
    add_output_option(parser)


def _status(ctx: Context) -> int:
    figures = ctx.adapters.proxy_reader.read(ctx.adapters.clock())
    rows = proxy_health(figures, ctx.settings.thresholds)
    data = [
        {**f.as_dict(), "healthy": h.healthy, "says": h.says}
        for f, h in zip(figures, rows, strict=True)
    ]
    table = ((h.name, h.state, h.figure) for h in rows)
    emit(ctx, data, lambda: print_table("proxy", ("proxy", "state", "figure"), table))
    return EXIT_OK if all(h.healthy for h in rows) else EXIT_FAILED


def _load(ctx: Context) -> int:
    from cdc_ops.proxy.load import ProxyLoad

    args, settings = ctx.args, ctx.settings
    load = ProxyLoad(settings, args.clients, args.query_seconds).start()
    where = f"{settings.database.proxy_host}:{settings.database.proxy_port}"
    status = progress_out.status(f"{args.clients} clients on {where} for {args.seconds:g}s")
    with status, contextlib.suppress(KeyboardInterrupt):
        time.sleep(args.seconds)
    report = load.stop()
    emit(
        ctx,
        asdict(report),
        lambda: print(
            f"{report.queries} queries by {report.clients} clients in {report.seconds}s:"
            f" mean {report.mean_ms} ms, max {report.max_ms} ms (each holds"
            f" {args.query_seconds}s), {report.errors} client error(s)"
        ),
    )
    return EXIT_OK
