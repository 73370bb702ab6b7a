"""`cdc-ops api serve`: a producer API Lambda handler on this machine, behind an adapter shaped
like API Gateway; `cdc-ops api openapi`: the OpenAPI document its routes generate."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from cdc_ops.errors import PortInUseError
from cdc_ops.tools.cli.common import EXIT_OK, Context, add_command, add_noun, say


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    actions = add_noun(
        commands, "api", shared, help="the producer API on this machine: serve, openapi"
    )
    serve = add_command(
        actions,
        "serve",
        shared,
        _serve,
        help="serve a producer API handler over HTTP, shaped like API Gateway",
        description="Serves the producer API Lambda handler on 127.0.0.1 through an adapter that "
        "turns each HTTP request into an API Gateway proxy event. Each request is also counted "
        "as AWS/ApiGateway Count (ApiName=names.api_name) in CloudWatch (moto locally), which is "
        "the activity the auto-stop decision reads. GET /openapi.json answers the OpenAPI "
        "document (not counted as API activity).",
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
    openapi = add_command(
        actions,
        "openapi",
        shared,
        _openapi,
        help="print the producer API's OpenAPI document",
        description="Prints the OpenAPI 3 document Powertools generates from the producer API's "
        "routes and models (the same for both flavors). The shipped copy is "
        "docs/producer-api.openapi.json; a test fails when it differs from this.",
    )
    openapi.add_argument(
        "-o",
        "--out",
        metavar="FILE",
        type=Path,
        help="write the document to FILE instead of stdout",
    )


def _openapi(ctx: Context) -> int:
    from cdc_ops.tools.api_server import openapi_document

    document = openapi_document()
    if ctx.args.out is None:
        print(document, end="")
    else:
        ctx.args.out.write_text(document)
        say(f"wrote {ctx.args.out}")
    return EXIT_OK


def _serve(ctx: Context) -> int:
    from cdc_ops.tools.api_activity import ApiActivityPublisher
    from cdc_ops.tools.api_server import load_containers, make_server, openapi_document
    from cdc_ops.tools.stack.process import port_in_use

    args, settings = ctx.args, ctx.settings
    api = settings.producer_api
    host, port = args.host or api.serve_host, args.port or api.serve_port
    if port_in_use(host, port):
        raise PortInUseError(
            f"api: port {port} on {host} is in use; choose --port or set producer_api.serve_port"
        )
    handler = load_containers(args.flavor, args.containers)
    activity = ApiActivityPublisher(ctx.adapters.aws("cloudwatch"), settings.names.api_name)
    documents = {"/openapi.json": openapi_document(args.flavor).encode()}
    server = make_server(handler, host, port, activity.start(), documents=documents)

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    say(
        f"producer API ({args.flavor}) on http://{host}:{port}; each request counts as "
        f"AWS/ApiGateway Count for ApiName={settings.names.api_name}; its OpenAPI document at "
        f"http://{host}:{port}/openapi.json"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        activity.stop()
    return EXIT_OK
