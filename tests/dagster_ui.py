"""A running Dagster UI for end-to-end tests: `cdc-ops dev` on a free port with its own
DAGSTER_HOME, and a small GraphQL client for launching runs and reading checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from cdc_ops.tools.stack.scratch import free_ports
from tests.conftest import ROOT

LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}"""
RUN = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status tags { key value } } } }"
CHECK = """
query($key: AssetKeyInput!, $name: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: 5) {
    runId status evaluation { description severity }
  }
}"""
HEALTH_TABLE = """
{ assetCheckExecutions(assetKey: {path: ["pipeline_health"]}, checkName: "pipeline_healthy",
                       limit: 1) {
    evaluation { metadataEntries { label ... on TableMetadataEntry { table { records } } } } } }
"""
CHECKS = """
{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name } } } } }
"""


class DagsterUi:
    def __init__(self, env: dict[str, str], log: Path, timeout_s: float = 180) -> None:
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(ROOT / ".venv/bin/cdc-ops"), "dev"],
                cwd=ROOT,
                env={**os.environ, **env, "CDC_OPS_DAGSTER__PORT": str(self.port)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.proc.poll() is None, self.tail()
            try:
                if self.query("{ assetNodes { id } }").get("assetNodes"):
                    return
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            assert time.monotonic() < deadline, f"no Dagster UI within {timeout_s}s\n{self.tail()}"
            time.sleep(1)

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def query(self, text: str, **variables: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.url}/graphql", json={"query": text, "variables": variables}, timeout=30
        )
        answer.raise_for_status()
        body = answer.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def launch(self, job: str, run_config: dict | None = None) -> str:
        params = {
            "selector": {
                "repositoryLocationName": "cdc_ops",
                "repositoryName": "__repository__",
                "jobName": job,
            },
            "runConfigData": run_config or {},
        }
        answer = self.query(LAUNCH, params=params)["launchRun"]
        assert answer["__typename"] == "LaunchRunSuccess", answer
        return answer["run"]["runId"]

    def launch_assets(self, paths: list[list[str]]) -> str:
        """What the UI's "Materialize" button launches for these assets (with their checks)."""
        params = {
            "selector": {
                "repositoryLocationName": "cdc_ops",
                "repositoryName": "__repository__",
                "jobName": "__ASSET_JOB",
                "assetSelection": [{"path": p} for p in paths],
            },
        }
        answer = self.query(LAUNCH, params=params)["launchRun"]
        assert answer["__typename"] == "LaunchRunSuccess", answer
        return answer["run"]["runId"]

    def run(self, job: str, run_config: dict | None = None, timeout_s: float = 300) -> dict:
        """Launch a job through GraphQL and wait for it to finish; its status and tags."""
        return self.wait(self.launch(job, run_config), timeout_s)

    def wait(self, run_id: str, timeout_s: float = 300) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            run = self.query(RUN, id=run_id)["runOrError"]
            if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                return {
                    "status": run["status"],
                    "tags": {t["key"]: t["value"] for t in run["tags"]},
                }
            assert time.monotonic() < deadline, f"run {run_id} did not finish in {timeout_s}s"
            time.sleep(1)

    def checks(self) -> dict[tuple[str, str], dict | None]:
        """(asset key, check name) -> the latest evaluated execution of every check but
        freshness (one a concurrent run has just planned has no evaluation yet)."""
        out = {}
        for node in self.query(CHECKS)["assetNodes"]:
            path = node["assetKey"]["path"]
            for check in node["assetChecksOrError"].get("checks", []):
                if check["name"] == "freshness_check":
                    continue
                runs = self.query(CHECK, key={"path": path}, name=check["name"])
                evaluated = [e for e in runs["assetCheckExecutions"] if e["evaluation"]]
                out[("/".join(path), check["name"])] = evaluated[0] if evaluated else None
        return out

    def pipeline_health_table(self) -> list[dict[str, Any]]:
        """The rows pipeline_health's latest check evaluated (the table its page shows)."""
        (execution,) = self.query(HEALTH_TABLE)["assetCheckExecutions"]
        entries = execution["evaluation"]["metadataEntries"]
        (table,) = [e for e in entries if e["label"] == "status"]
        return [json.loads(r) for r in table["table"]["records"]]

    def stop(self) -> int:
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=30)


class WebhookRecorder:
    """A Slack-compatible webhook on loopback that keeps every alert it is sent."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.alerts.append(json.loads(body)["alert"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout_s: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = [a for a in self.alerts if predicate(a)]
            if found:
                return found[0]
            assert time.monotonic() < deadline, f"no {what} within {timeout_s}s: {self.alerts}"
            time.sleep(1)

    def close(self) -> None:
        self.server.shutdown()
