"""One filter statement as a local PyFlink job (or, with --explain, its validation).

Runs under the Flink virtualenv (.venv-flink: apache-flink 2.0.0 and the Kafka connector jars
from shigawire-apache-flink-libraries), so it imports nothing but PyFlink and the standard
library. Input: a JSON spec {"name", "ddl": [...], "insert"}. The job checkpoints every few
seconds, which is when the Kafka source commits its group's offsets: a replacement job with the
same group starts where this one stopped. Its state goes to a status file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path


def write_status(path: Path, **data: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**data, "at": time.time(), "pid": os.getpid()}))
    tmp.replace(path)


def planner_message(text: str) -> str:
    """The planner's own sentence out of a Py4J error (its first line only names the call)."""
    for line in text.splitlines():
        line = line.strip().removeprefix(": ")
        if line.startswith(("org.apache.flink", "java.", "Caused by:")) and ": " in line:
            return line.removeprefix("Caused by: ")
    return text.strip().splitlines()[0] if text.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--status", type=Path)
    parser.add_argument("--explain", action="store_true", help="validate only; print JSON")
    parser.add_argument("--checkpoint-ms", type=int, default=3000)
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text())
    tmp = args.work_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    # read by the JVM launcher: must be set before the first TableEnvironment exists
    os.environ.setdefault("JVM_ARGS", f"-Xmx512m -Djava.io.tmpdir={tmp}")
    os.environ.setdefault("FLINK_LOG_DIR", str(args.work_dir / "log"))

    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    conf = t_env.get_config()
    conf.set("parallelism.default", "1")
    conf.set("io.tmp.dirs", str(tmp))
    conf.set("pipeline.name", spec["name"])
    conf.set("execution.checkpointing.interval", f"{args.checkpoint_ms} ms")
    try:
        for ddl in spec["ddl"]:
            t_env.execute_sql(ddl.rstrip().rstrip(";"))
        insert = spec["insert"].rstrip().rstrip(";")
        if args.explain:
            t_env.explain_sql(insert)
            # EXPLAIN accepts a regular expression Java cannot compile (the job would then match
            # nothing, silently): compile each one with java.util.regex, as REGEXP will.
            from pyflink.java_gateway import get_gateway

            pattern = get_gateway().jvm.java.util.regex.Pattern
            for regex in spec.get("regexes", []):
                pattern.compile(regex)
            print(json.dumps({"valid": True}))
            return 0
    except Exception as exc:  # noqa: BLE001 - the planner's words are the report
        message = planner_message(str(exc)) or type(exc).__name__
        if args.explain:
            print(json.dumps({"valid": False, "error": message[:2000]}))
            return 0
        raise

    assert args.status is not None
    result = t_env.execute_sql(insert)
    client = result.get_job_client()
    job_id = str(client.get_job_id())
    write_status(args.status, state="PENDING", job_id=job_id)

    def stop(_signum: int, _frame: object) -> None:
        try:
            client.cancel().result()
        finally:
            write_status(args.status, state="STOPPED", job_id=job_id)
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        state = str(client.get_job_status().result()).rsplit(".", 1)[-1]
        if state in ("FAILED", "CANCELED", "FINISHED"):
            write_status(args.status, state="FAILED" if state == "FAILED" else state, job_id=job_id)
            return 1 if state == "FAILED" else 0
        write_status(args.status, state=state, job_id=job_id)
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
