"""Where the JVM parts of the local stack are, and how a JVM of the stack is started.

scripts/setup.sh resolves jvm/pom.xml into `local.cache_dir`/jvm and installs the Flink 2.0
distribution of the PyFlink wheels into `local.cache_dir`/flink-2.0.0; nothing here downloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cdc_ops.errors import StackError
from cdc_ops.settings import Settings

FLINK_VERSION = "2.0.0"

# Every JVM of the stack logs through log4j2 to its stdout, which the stack sends to its log file.
LOG4J2 = """\
# written by cdc-ops stack up; edits are overwritten
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.kafkaconfig.name = org.apache.kafka.common.config.AbstractConfig
logger.kafkaconfig.level = WARN
"""


class JvmParts:
    def __init__(self, settings: Settings) -> None:
        self.cache = settings.local.cache_dir.expanduser()
        self.java = str(settings.local.java_bin)

    def _need(self, path: Path) -> Path:
        if not path.exists():
            raise StackError(
                f"{path} is missing: the local stack's JVM parts are installed by"
                " scripts/setup.sh (make setup); or set local.cache_dir to where they are"
            )
        return path

    @property
    def kafka_classpath(self) -> str:
        return str(self._need(self.cache / "jvm" / "kafka-libs")) + "/*"

    @property
    def connect_plugins(self) -> Path:
        return self._need(self.cache / "jvm" / "connect-plugins")

    @property
    def flink_home(self) -> Path:
        return self._need(self.cache / f"flink-{FLINK_VERSION}" / "pyflink")

    @property
    def flink_extra_lib(self) -> list[Path]:
        return sorted(self._need(self.cache / "jvm" / "flink-lib").glob("*.jar"))

    @property
    def flink_opt(self) -> list[Path]:
        return sorted(self._need(self.cache / "jvm" / "flink-opt").glob("*.jar"))

    @property
    def jolokia_agent(self) -> Path:
        return self._need(self.cache / "jvm" / "jolokia" / "jolokia-agent-jvm-javaagent.jar")


def java_argv(
    parts: JvmParts,
    heap_mb: int,
    log4j2: Path,
    main: str,
    *args: str,
    agents: Sequence[str] = (),
) -> list[str]:
    """A JVM as Kafka's own start scripts run one (G1, short pauses, headless); each of `agents`
    is a `-javaagent:` value, `<jar>[=<options>]`."""
    return [
        parts.java,
        f"-Xms{min(256, heap_mb)}m",
        f"-Xmx{heap_mb}m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j2}",
        *(f"-javaagent:{agent}" for agent in agents),
        "-cp",
        parts.kafka_classpath,
        main,
        *args,
    ]
