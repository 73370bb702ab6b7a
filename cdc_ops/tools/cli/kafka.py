"""`cdc-ops topic list` and `cdc-ops consumer run|lag`: the pipeline's Kafka topics (partitions,
end offsets) and its consumers (run one; their groups' lag)."""

from __future__ import annotations

import argparse
import threading
from dataclasses import asdict

from cdc_ops.errors import UsageError
from cdc_ops.tools.cli.common import (
    EXIT_OK,
    Context,
    add_command,
    add_noun,
    add_output_option,
    emit,
    print_table,
    say,
)


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    topic_actions = add_noun(
        commands, "topic", shared, help="the pipeline's Kafka topics: list", description=__doc__
    )
    listing = add_command(
        topic_actions, "list", shared, _topics, help="partitions and end offsets of each topic"
    )
    add_output_option(listing)

    consumer_actions = add_noun(
        commands, "consumer", shared, help="the pipeline's consumers: run, lag", description=__doc__
    )
    run = add_command(
        consumer_actions,
        "run",
        shared,
        _run,
        help="run one of the pipeline's consumers (loan, loan-payment, service, car)",
        description="Consumes the consumer's filtered topic in its group; each entity goes to "
        "its handler; malformed messages go to <topic>-dlq with the reason; offsets are "
        "committed after processing. Ctrl-C or SIGTERM stops it cleanly.",
    )
    _run_arguments(run)
    lag = add_command(consumer_actions, "lag", shared, _lag, help="each consumer group's lag")
    add_output_option(lag)
    # `cdc-ops consume NAME`, the spelling of earlier versions
    alias = add_command(commands, "consume", shared, _run, help="alias of `consumer run`")
    _run_arguments(alias)


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="consumer name (consumers.consumers in settings)")
    parser.add_argument("--processed-log", help="append the id of each processed event here")
    parser.add_argument(
        "--progress-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="print processed / dead-lettered / committed counts this often (0: off)",
    )


def _topics(ctx: Context) -> int:
    states = ctx.adapters.topic_admin(timeout_s=5).describe(ctx.settings.names.topics)
    data = [
        {
            "topic": s.name,
            "exists": s.exists,
            "partitions": s.partitions,
            "end_offset_total": s.total_end_offset,
            "end_offsets": s.end_offsets,
        }
        for s in states
    ]
    rows = ((d["topic"], d["exists"], d["partitions"], d["end_offset_total"]) for d in data)
    emit(ctx, data, lambda: print_table("topics", ("topic", "exists", "partitions", "end"), rows))
    return EXIT_OK


def _lag(ctx: Context) -> int:
    from cdc_ops.kafka.groups import group_lag

    have = ctx.adapters.topic_admin(timeout_s=5).existing()
    lags = [group_lag(ctx.settings, c, have) for c in ctx.settings.consumers.consumers]
    data = [
        {
            "consumer": g.name,
            "group": g.group,
            "topic": g.topic,
            "topic_exists": g.topic_exists,
            "lag": g.total,
            "dead_letters": g.dead_letters,
            "partitions": [asdict(p) for p in g.partitions],
        }
        for g in lags
    ]
    rows = ((d["consumer"], d["group"], d["topic"], d["lag"], d["dead_letters"]) for d in data)
    columns = ("consumer", "group", "topic", "lag", "dead letters")
    emit(ctx, data, lambda: print_table("consumer groups", columns, rows))
    return EXIT_OK


def _run(ctx: Context) -> int:
    from cdc_ops.kafka.consumer import ConsumerRunner, run_until_signalled

    args, settings = ctx.args, ctx.settings
    try:
        spec = settings.consumers.get(args.name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    log_file = open(args.processed_log, "a", buffering=1) if args.processed_log else None  # noqa: SIM115

    def processed(event) -> None:
        if log_file is not None:
            log_file.write(event.id + "\n")

    runner = ConsumerRunner(settings, spec, on_processed=processed)
    say(f"{spec.name}: consuming {spec.topic} as group {spec.group} (Ctrl-C stops)")
    done = threading.Event()
    if args.progress_every > 0:
        threading.Thread(
            target=_report_progress,
            args=(runner, spec.name, args.progress_every, done),
            daemon=True,
        ).start()
    try:
        stats = run_until_signalled(runner)
    finally:
        done.set()
        if log_file is not None:
            log_file.close()
    dead = f"{stats.dead_lettered} to {spec.dead_letter_topic}"
    say(f"{spec.name}: {stats.processed} processed, {dead}")
    return EXIT_OK


def _report_progress(runner, name: str, every_s: float, done: threading.Event) -> None:
    """A line whenever the counts moved since the last one (a quiet topic prints nothing)."""
    last = None
    while not done.wait(every_s):
        s = runner.stats
        now = (s.processed, s.dead_lettered, s.committed_batches)
        if now != last:
            say(
                f"{name}: {s.processed} processed, {s.dead_lettered} dead-lettered,"
                f" {s.committed_batches} batch(es) committed"
            )
            last = now
