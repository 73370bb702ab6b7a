"""The CLI's contract on the real local stack: every command that prints data prints JSON with
`-o json` (and only that on stdout), and the exit codes are the documented ones."""

from __future__ import annotations

import json
import os

import pytest

from cdc_ops.tools.stack import Stack
from tests.helpers import run_cli as run

pytestmark = pytest.mark.e2e


# every command that prints data, with what it needs to run quickly here
DATA_COMMANDS = [
    ["status"],
    ["cluster", "status"],
    ["cluster", "auto-stop", "--dry-run"],
    ["proxy", "status"],
    ["proxy", "load", "--clients", "2", "--seconds", "1", "--query-seconds", "0.1"],
    ["connector", "status"],
    ["topic", "list"],
    ["consumer", "lag"],
    ["filters", "compile"],
    ["filters", "deploy", "--dry-run"],
    ["stack", "status"],
    ["stack", "up", "moto"],
    ["settings", "show"],
    ["settings"],
]


@pytest.mark.parametrize("command", DATA_COMMANDS, ids=" ".join)
def test_json_output_parses(local_stack: Stack, command: list[str]) -> None:
    out = run(*command, "-o", "json")
    assert out.returncode in (0, 1), out.stderr  # healthy or not, never a usage error or a crash
    json.loads(out.stdout)  # stdout is the data alone; progress went to stderr


def test_exit_codes(local_stack: Stack) -> None:
    # healthy: every component of the stack runs
    assert run("stack", "status", "-o", "json").returncode == 0
    # unhealthy: the pipeline has no filter statement running on this stack
    unhealthy = run("status", "-o", "json")
    assert unhealthy.returncode == 1
    assert any(not row["healthy"] for row in json.loads(unhealthy.stdout))
    # a bad flag: argparse's usage error
    bad_flag = run("status", "--no-such-flag")
    assert bad_flag.returncode == 2 and "unrecognized arguments: --no-such-flag" in bad_flag.stderr
    # bad settings: a misspelt variable is named
    env = {**os.environ, "CDC_OPS_DATABSE__PASSWORD": "x"}
    bad_settings = run("status", env=env)
    assert bad_settings.returncode == 2
    assert "CDC_OPS_DATABSE__PASSWORD: names no setting" in bad_settings.stderr
    # an unexpected error: AWS at an address nothing answers on
    env = {
        **os.environ,
        "CDC_OPS_ENV": "aws",
        "CDC_OPS_AWS__ENDPOINT_URL": "http://127.0.0.1:9",
        "CDC_OPS_AWS__ACCESS_KEY_ID": "test",
        "CDC_OPS_AWS__SECRET_ACCESS_KEY": "test",
        "AWS_MAX_ATTEMPTS": "1",
    }
    unexpected = run("cluster", "status", env=env)
    assert unexpected.returncode == 3, unexpected.stderr
    assert "error: unexpected EndpointConnectionError" in unexpected.stderr
    assert "Traceback" not in unexpected.stderr
    debug = run("cluster", "status", "--debug", env=env)
    assert debug.returncode == 3 and "Traceback" in debug.stderr


def test_config_works_after_the_command(local_stack: Stack, tmp_path) -> None:
    config = tmp_path / "cdc-ops.yaml"
    config.write_text("names:\n  raw_topic: from-the-file\n")
    env = {k: v for k, v in os.environ.items() if k != "CDC_OPS_CONFIG"}
    for argv in (
        ["--config", str(config), "settings", "show"],
        ["settings", "show", "--config", str(config)],
        ["settings", "--config", str(config), "show"],
    ):
        out = run(*argv, env=env)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["names"]["raw_topic"] == "from-the-file"
