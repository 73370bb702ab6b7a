"""The local Kafka: Apache Kafka 4 as one KRaft node (broker and controller), its log under the
state directory, so topics, messages, committed offsets and groups outlive `stack down`/`up`.

The storage is formatted once (a cluster id kept beside it); `up` then creates the pipeline's
topics that are missing, never recreates one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from cdc_ops.errors import StackError
from cdc_ops.kafka.topics import TopicAdmin, client_config, pipeline_topics
from cdc_ops.tools.stack.component import Component
from cdc_ops.tools.stack.jvm import LOG4J2, JvmParts, java_argv
from cdc_ops.tools.stack.process import wait_until

NODE_ID = 1


class KafkaComponent(Component):
    name = "kafka"
    port_fields = ("kafka", "kafka_controller")

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def config_path(self) -> Path:
        return self.home / "server.properties"

    @property
    def log4j2_path(self) -> Path:
        return self.home / "log4j2.properties"

    def _properties(self) -> str:
        host, ports = self.host, self.settings.local.ports
        broker = f"PLAINTEXT://{host}:{ports.kafka}"
        controller = f"CONTROLLER://{host}:{ports.kafka_controller}"
        lines = {
            "process.roles": "broker,controller",
            "node.id": NODE_ID,
            "controller.quorum.bootstrap.servers": f"{host}:{ports.kafka_controller}",
            "listeners": f"{broker},{controller}",
            "advertised.listeners": broker,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": self.data_dir,
            "num.partitions": 1,
            # one node: every internal topic has one replica
            "default.replication.factor": 1,
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
            # the control plane creates its topics, with the partitions it chooses
            "auto.create.topics.enable": "false",
        }
        body = "\n".join(f"{k}={v}" for k, v in lines.items())
        return f"# written by cdc-ops stack up; edits are overwritten\n{body}\n"

    def _storage_tool(self, parts: JvmParts, *args: str) -> str:
        argv = java_argv(parts, 256, self.log4j2_path, "kafka.tools.StorageTool", *args)
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise StackError(
                f"kafka: kafka-storage {args[0]} failed: {(result.stderr or result.stdout)[-800:]}"
            )
        return result.stdout.strip()

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self._properties())
        self.log4j2_path.write_text(LOG4J2)
        if (self.data_dir / "meta.properties").exists():
            return
        parts = JvmParts(self.settings)
        cluster_file = self.home / "cluster-id"
        if not cluster_file.exists():
            cluster_file.write_text(self._storage_tool(parts, "random-uuid").splitlines()[-1])
        cluster_id = cluster_file.read_text().strip()
        self._storage_tool(
            parts,
            "format",
            "--standalone",
            "--ignore-formatted",
            "-t",
            cluster_id,
            "--config",
            str(self.config_path),
        )

    def argv(self) -> list[str]:
        return java_argv(
            JvmParts(self.settings),
            self.settings.local.kafka_heap_mb,
            self.log4j2_path,
            "kafka.Kafka",
            str(self.config_path),
        )

    def ready(self) -> bool:
        """The broker answers and serves every partition it holds: straight after a restart it
        lists its topics, leaders included, before it can answer for their offsets."""
        # quiet: librdkafka would log every refused connection while the broker starts
        config = {**client_config(self.settings), "log_level": 0}
        try:
            metadata = AdminClient(config).list_topics(timeout=2)
        except KafkaException:
            return False
        partitions = [
            TopicPartition(name, p) for name, t in metadata.topics.items() for p in t.partitions
        ]
        reader = Consumer({**config, "group.id": "cdc-ops-stack-probe"})
        try:
            for tp in partitions:
                reader.get_watermark_offsets(tp, timeout=2)
            return True
        except KafkaException:
            return False
        finally:
            reader.close()

    def after_ready(self) -> None:
        if TopicAdmin(self.settings).ensure(pipeline_topics(self.settings)):
            # new topics are listed before their partitions can be read: wait for that too
            wait_until(self.ready, timeout_s=30, what="kafka: new topics", log_path=self.log_path)

    def detail(self) -> str:
        have = TopicAdmin(self.settings, timeout_s=5).existing()
        raw = self.settings.names.raw_topic
        cluster = (self.home / "cluster-id").read_text().strip()
        return (
            f"Kafka KRaft broker {NODE_ID}, cluster {cluster}, {len(have)} topic(s);"
            f" {raw}: {have.get(raw, 0)} partition(s)"
        )
