"""Session fixtures: one real local stack (PostgreSQL, PgBouncer, Kafka, moto, Kafka Connect with
Debezium, a Flink session cluster and its SQL Gateway) on free ports.

Its settings travel as CDC_OPS_* environment variables, so the CLI, `dagster` subprocesses and
in-process code all see the same stack.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdc_ops.settings import Settings, load_settings
from cdc_ops.tools.stack import Stack
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir

ROOT = Path(__file__).resolve().parent.parent


# The developer's CDC_OPS_* variables, taken out before collection: test modules that read
# settings at import time must see the defaults too. Put back when the session ends.
_DEVELOPER_ENV: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    for key in [k for k in os.environ if k.startswith("CDC_OPS_")]:
        _DEVELOPER_ENV[key] = os.environ.pop(key)


@pytest.fixture(scope="session", autouse=True)
def _isolated_settings_env() -> Iterator[None]:
    """No CDC_OPS_* variable or cdc-ops.yaml of the developer's leaks into the tests."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("CDC_OPS_")}
    for key in saved:
        del os.environ[key]
    saved |= _DEVELOPER_ENV
    cwd = os.getcwd()
    os.chdir(ROOT)
    if (ROOT / "cdc-ops.yaml").exists():
        os.environ["CDC_OPS_CONFIG"] = os.devnull
    yield
    os.chdir(cwd)
    os.environ.update(saved)


@pytest.fixture(scope="session")
def stack_settings(_isolated_settings_env: None) -> Iterator[Settings]:
    state_dir = scratch_state_dir("cdc-ops-test-stack-")
    env = scratch_env(state_dir)
    os.environ.update(env)
    yield load_settings()
    for key in env:
        os.environ.pop(key, None)
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def scratch_settings(stack_settings: Settings) -> Iterator[Settings]:
    """A second, empty stack's settings: other ports, another state directory. Whatever a test
    starts with them is stopped afterwards. For tests that stop or break components."""
    state_dir = scratch_state_dir("cdc-ops-test-scratch-")
    env = scratch_env(state_dir)
    saved = {k: os.environ[k] for k in env}
    os.environ.update(env)
    try:
        yield load_settings()
    finally:
        Stack(load_settings()).down()
        os.environ.update(saved)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def local_stack(stack_settings: Settings) -> Iterator[Stack]:
    """The real local stack, started once for the whole session."""
    stack = Stack(stack_settings)
    stack.up()
    yield stack
    stack.down()
