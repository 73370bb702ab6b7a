"""The `cdc-ops` command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cdc_ops.errors import CdcOpsError
from cdc_ops.settings import Settings, load_settings
from cdc_ops.tools.devserver import CONTROL_PLANE_ROLES
from cdc_ops.tools.stack import COMPONENT_NAMES, Stack, State, StatusRow

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

    control_plane = commands.add_parser(
        "control-plane",
        help="run one deployed Dagster process: the webserver or the daemon",
        description="What the control plane's containers run (terraform/modules/dagster): writes "
        "DAGSTER_HOME/dagster.yaml (PostgreSQL storage from dagster.postgres_storage_url), then "
        "replaces itself with dagster-webserver (on dagster.host:dagster.port) or "
        "dagster-daemon. Run exactly one daemon per Dagster instance.",
    )
    control_plane.add_argument("role", choices=CONTROL_PLANE_ROLES)

    api = commands.add_parser("api", help="the producer API on this machine")
    api_actions = api.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = api_actions.add_parser(
        "serve",
        help="serve a producer API handler over HTTP, shaped like API Gateway",
        description="Serves the producer API Lambda handler on 127.0.0.1 through an adapter that "
        "turns each HTTP request into an API Gateway proxy event. Each request is also counted "
        "as AWS/ApiGateway Count (ApiName=names.api_name) in CloudWatch (moto locally), which is "
        "the activity the auto-stop decision reads.",
    )
    serve.add_argument(
        "--flavor",
        choices=["pg", "dsql"],
        default="pg",
        help="Aurora PostgreSQL (default) or Aurora DSQL handler",
    )
    serve.add_argument("--host", help="default: producer_api.serve_host (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default: producer_api.serve_port (8080)")
    serve.add_argument(
        "--containers",
        type=int,
        default=4,
        help="warm Lambda containers, i.e. requests served at once (default 4)",
    )

    lam = commands.add_parser("lambda", help="build deployable Lambda zips")
    lam_actions = lam.add_subparsers(dest="action", required=True, metavar="ACTION")
    package = lam_actions.add_parser(
        "package",
        help="build NAME.zip: handler + cdc_ops + runtime dependencies (no dagster/pandas)",
    )
    package.add_argument("name", help="producer_api_pg, producer_api_dsql, auto_start, auto_stop")
    package.add_argument("--out", default="dist", help="output directory (default: dist/)")
    package.add_argument(
        "--arch",
        choices=["x86_64", "arm64"],
        default="x86_64",
        help="the Lambda's architecture (default x86_64)",
    )

    cluster = commands.add_parser(
        "cluster",
        help="the Aurora cluster: status, stop, start, auto-stop",
        description="Acts on the cluster (never its instances), only from available/stopped, "
        "recording each action and its reason as cluster tags. Locally the stack's PostgreSQL "
        "is really stopped and started.",
    )
    cluster_actions = cluster.add_subparsers(dest="action", required=True, metavar="ACTION")
    cluster_actions.add_parser("status", help="status, engine, endpoint and the last action")
    for verb in ("stop", "start"):
        sub = cluster_actions.add_parser(verb, help=f"{verb} the cluster now (idempotent)")
        sub.add_argument("--reason", default="requested from the command line")
    auto = cluster_actions.add_parser(
        "auto-stop", help="run the auto-stop decision once (what the hourly schedule does)"
    )
    auto.add_argument("--dry-run", action="store_true", help="decide and explain; do not stop")

    load = commands.add_parser(
        "load",
        help="put the proxy under load (more clients than its pool) to see saturation alerts",
    )
    load.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    load.add_argument("--seconds", type=float, default=30, help="how long (default 30)")
    load.add_argument(
        "--query-seconds",
        type=float,
        default=0.5,
        help="how long each query holds a connection (default 0.5)",
    )

    filters = commands.add_parser(
        "filters",
        help="compile flink_sql/filters.yaml to Flink SQL, check or diff the committed SQL",
        description="The committed SQL lives in flink_sql/generated/ (confluent, confluent-no-op, "
        "apache-flink). `check` exits 1 when it is stale.",
    )
    filter_actions = filters.add_subparsers(dest="action", required=True, metavar="ACTION")
    for verb, text in (
        ("compile", "write flink_sql/generated/*.sql"),
        ("check", "exit 1 if the committed SQL is not what filters.yaml gives"),
        ("diff", "show how the committed SQL differs from filters.yaml's"),
        ("deploy", "redeploy the filter statements: only what changed; --dry-run shows the plan"),
    ):
        sub = filter_actions.add_parser(verb, help=text)
        sub.add_argument("--file", help="filters file (default flink_sql/filters.yaml)")
        if verb == "deploy":
            sub.add_argument("--dry-run", action="store_true", help="show the plan only")

    consume = commands.add_parser(
        "consume",
        help="run one of the pipeline's consumers (loan, loan-payment, service, car)",
        description="Consumes the consumer's filtered topic in its group; each entity goes to its "
        "handler; malformed messages go to <topic>-dlq with the reason; offsets are committed "
        "after processing. Ctrl-C or SIGTERM stops it cleanly.",
    )
    consume.add_argument("name", help="consumer name (consumers.consumers in settings)")
    consume.add_argument("--processed-log", help="append the id of each processed event here")
    consume.add_argument(
        "--progress-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="print processed / dead-lettered / committed counts this often while running (0: off)",
    )

    status_cmd = commands.add_parser(
        "status",
        help="one table for the whole pipeline; exit 1 when anything is unhealthy",
    )
    status_cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")

    commands.add_parser("settings", help="print the settings in effect (secrets masked)")
    return parser


def _consume(settings: Settings, args: argparse.Namespace) -> int:
    from cdc_ops.kafka.consumer import ConsumerRunner, run_until_signalled

    try:
        spec = settings.consumers.get(args.name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log_file = open(args.processed_log, "a", buffering=1) if args.processed_log else None  # noqa: SIM115

    def processed(event) -> None:
        if log_file is not None:
            log_file.write(event.id + "\n")

    runner = ConsumerRunner(settings, spec, on_processed=processed)
    console.print(
        f"{spec.name}: consuming {spec.topic} as group {spec.group} (Ctrl-C stops)", highlight=False
    )
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
    console.print(
        f"{spec.name}: {stats.processed} processed, {stats.dead_lettered} to"
        f" {spec.dead_letter_topic}",
        highlight=False,
    )
    return 0


def _report_progress(runner, name: str, every_s: float, done: threading.Event) -> None:
    """A line whenever the counts moved since the last one (a quiet topic prints nothing)."""
    last = None
    while not done.wait(every_s):
        s = runner.stats
        now = (s.processed, s.dead_lettered, s.committed_batches)
        if now != last:
            console.print(
                f"{name}: {s.processed} processed, {s.dead_lettered} dead-lettered,"
                f" {s.committed_batches} batch(es) committed",
                highlight=False,
            )
            last = now


def _pipeline_status(settings: Settings, args: argparse.Namespace) -> int:
    from cdc_ops.health.reading import pipeline_status

    rows = pipeline_status(settings)
    if args.json:
        console.print_json(json.dumps([r.as_dict() for r in rows]))
    else:
        table = Table(title="pipeline")
        for column in ("part", "name", "state", "figure"):
            table.add_column(column, overflow="fold")
        for r in rows:
            style = "green" if r.healthy else "bold red"
            table.add_row(r.part, r.name, f"[{style}]{r.state}[/]", r.figure)
        console.print(table)
    return 0 if all(r.healthy for r in rows) else 1


def _filters(settings: Settings, args: argparse.Namespace) -> int:
    from cdc_ops.filters import files

    source = Path(args.file) if args.file else files.FILTERS_FILE
    if args.action == "compile":
        changed = files.write(source)
        for path in changed:
            console.print(f"wrote {path}", highlight=False)
        console.print(f"{len(changed)} file(s) changed", highlight=False)
        return 0
    if args.action == "check":
        stale = files.stale(source)
        for path in stale:
            print(f"stale: {path} (run `cdc-ops filters compile`)", file=sys.stderr)
        return 1 if stale else 0
    if args.action == "deploy":
        return _filters_deploy(settings, source, args.dry_run)
    text = files.diff(source)
    print(text, end="")
    return 1 if text else 0


def _filters_deploy(settings: Settings, source: Path, dry_run: bool) -> int:
    from cdc_ops.flink.deploy import compile_for, redeploy, statement_backend
    from cdc_ops.kafka.topics import TopicAdmin

    compiled = compile_for(settings, source)
    with console.status("deploying filter statements"):
        report = redeploy(
            compiled,
            statement_backend(settings),
            TopicAdmin(settings),
            settings.names.filtered_topic_partitions,
            dry_run=dry_run,
        )
    for change in report.changes:
        outcome = report.failed.get(change.name) or report.deployed.get(change.name, "")
        console.print(
            f"{change.name}: {change.action} ({change.reason}) {outcome}", highlight=False
        )
    return 0 if report.ok else 1


def _load(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from cdc_ops.proxy.load import ProxyLoad

    load = ProxyLoad(settings, args.clients, args.query_seconds).start()
    where = f"{settings.database.proxy_host}:{settings.database.proxy_port}"
    status = console.status(f"{args.clients} clients on {where} for {args.seconds:g}s")
    with status, contextlib.suppress(KeyboardInterrupt):
        time.sleep(args.seconds)
    report = load.stop()
    console.print(
        f"{report.queries} queries by {report.clients} clients in {report.seconds}s:"
        f" mean {report.mean_ms} ms, max {report.max_ms} ms (each holds {args.query_seconds}s),"
        f" {report.errors} client error(s)",
        highlight=False,
    )
    return 0


def _cluster(settings: Settings, args: argparse.Namespace) -> int:
    from cdc_ops.cluster.auto_stop import Policy, activity_reader, auto_stop_decision, run_auto_stop
    from cdc_ops.cluster.control import cluster_controller, utc_now

    controller = cluster_controller(settings)
    if args.action == "status":
        state = controller.describe()
        last = state.last_action
        console.print_json(
            json.dumps(
                {
                    "cluster_id": state.cluster_id,
                    "status": state.status,
                    "engine": f"{state.engine} {state.engine_version}".strip(),
                    "endpoint": state.endpoint,
                    "observed_via": state.observed_via,
                    "last_action": None
                    if last is None
                    else {"action": last.action, "at": last.at.isoformat(), "reason": last.reason},
                }
            )
        )
        return 0
    if args.action in ("stop", "start"):
        result = getattr(controller, args.action)(f"manual: {args.reason}")
        console.print(
            f"{args.action}: {result.outcome} (was {result.status_before})", highlight=False
        )
        return 0
    policy = Policy.from_settings(settings)
    if args.dry_run:
        now = utc_now()
        activity = activity_reader(settings).read(now, policy.window)
        decision = auto_stop_decision(now, controller.describe(), activity, policy)
        outcome = "dry run: nothing done"
    else:
        run = run_auto_stop(controller, activity_reader(settings), policy)
        decision = run.decision
        outcome = run.result.outcome if run.result else "nothing done"
    console.print(f"{decision.action.value}: {decision.reason} ({outcome})", highlight=False)
    console.print_json(json.dumps(decision.evidence))
    return 0


def _api_serve(settings: Settings, args: argparse.Namespace) -> int:
    import signal

    from cdc_ops.clients.aws import client
    from cdc_ops.errors import PortInUseError
    from cdc_ops.tools.api_activity import ApiActivityPublisher
    from cdc_ops.tools.api_server import load_containers, make_server
    from cdc_ops.tools.stack.process import port_in_use

    api = settings.producer_api
    host, port = args.host or api.serve_host, args.port or api.serve_port
    if port_in_use(host, port):
        raise PortInUseError(
            f"api: port {port} on {host} is in use; choose --port or set producer_api.serve_port"
        )
    handler = load_containers(args.flavor, args.containers)
    activity = ApiActivityPublisher(client("cloudwatch", settings), settings.names.api_name)
    server = make_server(handler, host, port, activity.start())

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    console.print(
        f"producer API ({args.flavor}) on http://{host}:{port}; each request counts as "
        f"AWS/ApiGateway Count for ApiName={settings.names.api_name}",
        highlight=False,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        activity.stop()
    return 0


def _lambda_package(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cdc_ops.tools.packaging import build

    build(
        args.name,
        Path(args.out),
        arch=args.arch,
        progress=lambda m: console.print(m, highlight=False),
    )
    return 0


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
                    }
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
            from cdc_ops.tools.devserver import run_dev

            return run_dev(settings, start_stack=not args.no_stack, config_file=args.config)
        if args.command == "control-plane":
            from cdc_ops.tools.devserver import run_control_plane

            run_control_plane(settings, args.role)  # returns only by raising
        if args.command == "api":
            return _api_serve(settings, args)
        if args.command == "lambda":
            return _lambda_package(args)
        if args.command == "cluster":
            return _cluster(settings, args)
        if args.command == "load":
            return _load(settings, args)
        if args.command == "filters":
            return _filters(settings, args)
        if args.command == "consume":
            return _consume(settings, args)
        if args.command == "status":
            return _pipeline_status(settings, args)
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
