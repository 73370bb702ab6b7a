"""The cdc-ops command line: help, errors and exit codes."""

from __future__ import annotations

from cdc_ops.tools.cli import parser
from tests.helpers import run_cli as run


def test_help_lists_the_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("stack", "dev", "settings"):
        assert command in out.stdout
    stack_help = run("stack", "--help").stdout
    assert "up" in stack_help and "down" in stack_help and "status" in stack_help


def test_unknown_component_is_named() -> None:
    out = run("stack", "up", "postgress")
    assert out.returncode == 2
    assert "unknown component(s): postgress; choose from postgres, pgbouncer, kafka, moto" in (
        " ".join(out.stderr.split())
    )


def test_bad_setting_exits_2_naming_the_variable() -> None:
    import os

    env = {**os.environ, "CDC_OPS_LOCAL__PORTS__KAFKA": "ninety"}
    out = run("stack", "status", env=env)
    assert out.returncode == 2
    assert "local.ports.kafka" in out.stderr and "CDC_OPS_LOCAL__PORTS__KAFKA" in out.stderr


def test_settings_are_printed_with_secrets_masked() -> None:
    out = run("settings")
    assert out.returncode == 0
    assert '"cluster_id": "cdc-streaming-test-aurora"' in out.stdout
    assert "cdc-ops-local" not in out.stdout  # the local database password


def test_version_and_the_documented_exit_codes_in_help() -> None:
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("cdc-ops ")
    for argv in (["--help"], ["cluster", "--help"], ["cluster", "status", "--help"]):
        out = run(*argv)
        assert "exit codes: 0 ok; 1 unhealthy or failed; 2 usage or settings error; 3" in (
            " ".join(out.stdout.split())
        )


def test_todays_spellings_still_parse() -> None:
    for argv in (
        ["consume", "--help"],
        ["load", "--help"],
        ["dev", "--help"],
        ["control-plane", "webserver", "--help"],
    ):
        assert run(*argv).returncode == 0, argv
    # parsed for real: --help would exit 0 before an unknown flag is reported
    assert parser().parse_args(["status", "--json"]).output == "json"
    assert parser().parse_args(["settings", "-o", "table", "show"]).output == "table"
