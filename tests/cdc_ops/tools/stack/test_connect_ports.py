"""The Connect worker's Jolokia port is one of its ports: a busy one is named before anything
starts."""

from __future__ import annotations

import socket

import pytest

from cdc_ops.errors import PortInUseError
from cdc_ops.settings import Settings
from cdc_ops.tools.stack import Stack


def test_a_busy_jolokia_port_is_named_and_nothing_starts(scratch_settings: Settings) -> None:
    port = scratch_settings.local.ports.connect_jolokia
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(PortInUseError) as err:
            Stack(scratch_settings).up(["connect"])
    assert str(err.value) == (
        f"connect: port {port} on 127.0.0.1 is in use by a process this stack did not start;"
        " free it or set local.ports.connect_jolokia (env CDC_OPS_LOCAL__PORTS__CONNECT_JOLOKIA)"
    )
    assert not list((scratch_settings.state_dir / "run").glob("*.json"))


def test_connect_listens_on_its_rest_port_first(scratch_settings: Settings) -> None:
    connect = Stack(scratch_settings).component("connect")
    ports = scratch_settings.local.ports
    assert connect.ports == {"connect": ports.connect, "connect_jolokia": ports.connect_jolokia}
    assert connect.address == f"127.0.0.1:{ports.connect}"
