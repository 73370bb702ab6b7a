"""The local Kafka Connect: a distributed worker (Kafka's connect-runtime) with the Debezium
PostgreSQL plugin, its configs, offsets and status in topics of the local broker.

The control plane drives it through its REST API with the same backend as a self-managed worker
on AWS. `up` applies the connector's configuration from the settings every time (a changed
database password is a changed configuration) and waits until it streams: the connector and its
task RUNNING and the replication slot active.

The worker loads the Jolokia JVM agent: Debezium's JMX metrics over HTTP on
`local.ports.connect_jolokia`, read-only (a policy allowing read, list, search and version).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from cdc_ops.adapters import Adapters
from cdc_ops.cluster.connector_hold import resume_held_connector
from cdc_ops.connector.config import heartbeat_topic, render
from cdc_ops.errors import CdcOpsError, StackError
from cdc_ops.kafka.topics import TopicAdmin, TopicSpec
from cdc_ops.slot.reading import observe_slot
from cdc_ops.tools.stack.component import Component
from cdc_ops.tools.stack.jvm import LOG4J2, JvmParts, java_argv
from cdc_ops.tools.stack.process import wait_until

GROUP = "cdc-ops-connect"
FAILED_GRACE_S = 10.0

# Jolokia's policy: reads only, so the agent cannot change an MBean or run an operation
JOLOKIA_POLICY = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by cdc-ops stack up; edits are overwritten -->
<restrict>
  <commands>
    <command>read</command>
    <command>list</command>
    <command>search</command>
    <command>version</command>
  </commands>
</restrict>
"""


class ConnectComponent(Component):
    name = "connect"
    port_fields = ("connect", "connect_jolokia")

    @property
    def config_path(self) -> Path:
        return self.home / "connect-distributed.properties"

    @property
    def log4j2_path(self) -> Path:
        return self.home / "log4j2.properties"

    @property
    def jolokia_config_path(self) -> Path:
        return self.home / "jolokia-agent.properties"

    @property
    def jolokia_policy_path(self) -> Path:
        return self.home / "jolokia-access.xml"

    def _write_jolokia_config(self) -> None:
        lines = {
            "host": self.host,
            "port": self.settings.local.ports.connect_jolokia,
            "agentContext": "/jolokia",
            # no multicast announcements on the machine's network
            "discoveryEnabled": "false",
            "policyLocation": self.jolokia_policy_path.as_uri(),
        }
        body = "\n".join(f"{k}={v}" for k, v in lines.items())
        self.jolokia_config_path.write_text(
            f"# written by cdc-ops stack up; edits are overwritten\n{body}\n"
        )
        self.jolokia_policy_path.write_text(JOLOKIA_POLICY)

    def prepare(self) -> None:
        parts = JvmParts(self.settings)
        self.home.mkdir(parents=True, exist_ok=True)
        lines = {
            "bootstrap.servers": self.settings.kafka.bootstrap_servers,
            "group.id": GROUP,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
            "config.storage.topic": f"{GROUP}-configs",
            "offset.storage.topic": f"{GROUP}-offsets",
            "status.storage.topic": f"{GROUP}-status",
            "config.storage.replication.factor": 1,
            "offset.storage.replication.factor": 1,
            "status.storage.replication.factor": 1,
            "offset.storage.partitions": 1,
            "status.storage.partitions": 1,
            # source offsets (the LSN Debezium has sent) are written every second
            "offset.flush.interval.ms": 1000,
            "listeners": f"http://{self.host}:{self.port}",
            "rest.advertised.host.name": self.host,
            "rest.advertised.port": self.port,
            "plugin.path": parts.connect_plugins,
            # Debezium ships ServiceLoader manifests: no class scan (8 s -> 3 s to start)
            "plugin.discovery": "service_load",
        }
        body = "\n".join(f"{k}={v}" for k, v in lines.items())
        self.config_path.write_text(
            f"# written by cdc-ops stack up; edits are overwritten\n{body}\n"
        )
        self.log4j2_path.write_text(LOG4J2)
        self._write_jolokia_config()

    def argv(self) -> list[str]:
        parts = JvmParts(self.settings)
        # the agent's options are comma-separated, with a backslash escaping a comma
        config = str(self.jolokia_config_path).replace("\\", "\\\\").replace(",", "\\,")
        return java_argv(
            parts,
            self.settings.local.connect_heap_mb,
            self.log4j2_path,
            "org.apache.kafka.connect.cli.ConnectDistributed",
            str(self.config_path),
            agents=[f"{parts.jolokia_agent}=config={config}"],
        )

    def _get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=2)

    def ready(self) -> bool:
        try:
            return self._get("/").status_code == 200 and self._get("/connectors").status_code == 200
        except httpx.HTTPError:
            return False

    def after_ready(self) -> None:
        spec = render(self.settings)
        TopicAdmin(self.settings).ensure([TopicSpec(heartbeat_topic(self.settings), 1)])
        # the connector backend the control plane uses, retries included
        adapters = Adapters(self.settings)
        backend = adapters.connector_backend
        backend.apply(spec.config)
        # a connector cdc-ops stopped with the cluster is resumed, as the start job would; with
        # no cluster record to read (moto not up) there is nothing to resume
        with contextlib.suppress(CdcOpsError, BotoCoreError, ClientError):
            resume_held_connector(adapters)

        failing_since: dict[str, float] = {}  # when FAILED was first read, while it lasts

        def streaming() -> bool:
            status = backend.status()
            if status.state != "FAILED" and not status.failed_tasks:
                failing_since.clear()
                return status.healthy and bool(observe_slot(self.settings).active)
            # a status read straight after a config change may still be the old one's
            began = failing_since.setdefault("at", time.monotonic())
            if time.monotonic() - began < FAILED_GRACE_S:
                return False
            trace = status.trace or next((t.trace for t in status.failed_tasks), "") or "?"
            raise StackError(
                f"connect: connector {status.name} is FAILED: {trace.splitlines()[0][:500]}"
            )

        wait_until(
            streaming,
            timeout_s=self.settings.local.ready_timeout_s,
            what=f"connect: connector {self.settings.connector.name}",
            log_path=self.log_path,
        )

    def detail(self) -> str:
        version = self._get("/").json().get("version", "?")
        names = self._get("/connectors").json()
        states = []
        for name in names:
            body = self._get(f"/connectors/{name}/status").json()
            tasks = body.get("tasks", [])
            running = sum(t.get("state") == "RUNNING" for t in tasks)
            states.append(
                f"{name} {body.get('connector', {}).get('state', '?')}"
                f" ({running}/{len(tasks)} task(s) running)"
            )
        listed = "; ".join(states) or "no connector"
        return f"Kafka Connect {version}: {listed}"
