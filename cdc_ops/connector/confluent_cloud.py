"""Confluent Cloud's managed connector through its Connect API (connect/v1), authenticated with a
Cloud API key."""

from __future__ import annotations

from typing import Any

import httpx

from cdc_ops.clients.rest import RetryingRest
from cdc_ops.connector.backends import ApplyResult, ConnectorStatus, _RestConnector


class ConfluentCloudBackend(_RestConnector):
    """Confluent Cloud's Connect API (connect/v1), authenticated with a Cloud API key."""

    kind = "confluent_cloud"

    def __init__(
        self,
        base_url: str,
        environment: str,
        cluster: str,
        name: str,
        api_key: str,
        api_secret: str,
        http: httpx.Client | None = None,
        **retry: Any,
    ) -> None:
        self._base = (
            f"{base_url.rstrip('/')}/connect/v1/environments/{environment}"
            f"/clusters/{cluster}/connectors/{name}"
        )
        self._name = name
        self._rest = RetryingRest(
            http or httpx.Client(timeout=15, auth=httpx.BasicAuth(api_key, api_secret)), **retry
        )

    def apply(self, config: dict[str, str]) -> ApplyResult:
        desired = {k: v for k, v in config.items() if k != "name"} | {"name": self._name}
        current = self._current_config()
        # the API masks secrets it returns: compare everything else
        if current is not None and _comparable(current) == _comparable(desired):
            return ApplyResult.UNCHANGED
        self._rest.request("PUT", f"{self._base}/config", json=desired)
        return ApplyResult.CREATED if current is None else ApplyResult.UPDATED

    def restart(self, include_tasks: bool = True, only_failed: bool = True) -> ConnectorStatus:
        # Confluent Cloud restarts failed tasks itself and offers no restart call: a pause and
        # a resume make the service reschedule the connector and its tasks.
        self.pause()
        self.resume()
        return self.status()

    def stop(self) -> None:
        self.pause()


_MASKED = ("database.password", "kafka.api.key", "kafka.api.secret")


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _MASKED}
