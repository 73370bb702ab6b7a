"""A cdc_ops health verdict as Dagster shows it: a check result (in the op that defines the
check) or a check evaluation (reported from another op or a sensor), and the freshness stamp
every observation carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
)

from cdc_ops.health.verdicts import Health

# the key Dagster's freshness checks read off an observation (without it they ignore it)
LAST_UPDATED = "dagster/last_updated_timestamp"


def observed_at(at: datetime) -> dict[str, Any]:
    return {LAST_UPDATED: MetadataValue.timestamp(at)}


def number(value: float | int | None) -> Any:
    """A number the Plots tab can draw, or null for unknown (never a 0 that was not measured)."""
    if value is None:
        return MetadataValue.null()
    return MetadataValue.int(value) if isinstance(value, int) else MetadataValue.float(value)


def _fields(key: AssetKey, name: str, health: Health, extra: dict[str, Any] | None) -> dict:
    return {
        "asset_key": key,
        "check_name": name,
        "passed": health.healthy,
        "severity": AssetCheckSeverity.ERROR if health.severe else AssetCheckSeverity.WARN,
        "description": health.says,
        "metadata": {
            "state": health.state,
            "healthy": MetadataValue.bool(health.healthy),
            **(extra or {}),
        },
    }


def check_result(
    key: AssetKey, name: str, health: Health, extra: dict[str, Any] | None = None
) -> AssetCheckResult:
    """For the op that defines the check."""
    return AssetCheckResult(**_fields(key, name, health, extra))


def check_evaluation(
    key: AssetKey, name: str, health: Health, extra: dict[str, Any] | None = None
) -> AssetCheckEvaluation:
    """The same result, reported from another op or a sensor."""
    return AssetCheckEvaluation(**_fields(key, name, health, extra))


def check_key(key: AssetKey, name: str) -> AssetCheckKey:
    return AssetCheckKey(key, name)
