"""`cdc-ops filters compile|check|diff|deploy`: flink_sql/filters.yaml to Flink SQL, the
committed SQL kept current, and the filter statements redeployed (only what changed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cdc_ops.filters import files
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
    say,
)


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    actions = add_noun(
        commands,
        "filters",
        shared,
        help="compile flink_sql/filters.yaml to Flink SQL, check, diff or deploy it",
        description="The committed SQL lives in flink_sql/generated/ (confluent, confluent-no-op, "
        "apache-flink). `check` exits 1 when it is stale.",
    )
    for verb, handler, text in (
        ("compile", _compile, "write flink_sql/generated/*.sql"),
        ("check", _check, "exit 1 if the committed SQL is not what filters.yaml gives"),
        ("diff", _diff, "show how the committed SQL differs from filters.yaml's"),
        ("deploy", _deploy, "redeploy the filter statements: only what changed"),
    ):
        sub = add_command(actions, verb, shared, handler, help=text)
        sub.add_argument("--file", help="filters file (default flink_sql/filters.yaml)")
        if verb in ("compile", "deploy"):
            add_output_option(sub)
        if verb == "deploy":
            sub.add_argument("--dry-run", action="store_true", help="show the plan only")


def _source(ctx: Context) -> Path:
    return Path(ctx.args.file) if ctx.args.file else files.FILTERS_FILE


def _compile(ctx: Context) -> int:
    changed = files.write(_source(ctx))
    emit(
        ctx,
        {"changed": [str(p) for p in changed]},
        lambda: print("\n".join([*(f"wrote {p}" for p in changed), f"{len(changed)} changed"])),
    )
    return EXIT_OK


def _check(ctx: Context) -> int:
    stale = files.stale(_source(ctx))
    for path in stale:
        say(f"stale: {path} (run `cdc-ops filters compile`)")
    return EXIT_FAILED if stale else EXIT_OK


def _diff(ctx: Context) -> int:
    text = files.diff(_source(ctx))
    print(text, end="")
    return EXIT_FAILED if text else EXIT_OK


def _deploy(ctx: Context) -> int:
    from cdc_ops.flink.deploy import redeploy_filters

    with progress_out.status("deploying filter statements"):
        report = redeploy_filters(ctx.adapters, _source(ctx), dry_run=ctx.args.dry_run)
    rows = [
        {
            "statement": c.name,
            "action": c.action,
            "why": c.reason,
            "outcome": report.failed.get(c.name) or report.deployed.get(c.name, ""),
            "failed": c.name in report.failed,
        }
        for c in report.changes
    ]
    data = {"dry_run": report.dry_run, "topics_created": report.topics_created, "plan": rows}
    emit(
        ctx,
        data,
        lambda: print_table(
            "filter statements" + (" (dry run)" if report.dry_run else ""),
            ("statement", "action", "why", "outcome"),
            ((r["statement"], r["action"], r["why"], r["outcome"]) for r in rows),
        ),
    )
    if report.topics_created:
        say(f"created topic(s): {', '.join(report.topics_created)}")
    return EXIT_OK if report.ok else EXIT_FAILED
