"""Nothing goes missing from the code location, and nothing appears unreviewed: the inventory
(asset keys, checks, jobs, schedules and sensors with their default status) equals the reviewed
snapshot in inventory.json. After a deliberate change: `python -m tests.assets.inventory`."""

from __future__ import annotations

import json

from tests.assets.inventory import SNAPSHOT, inventory


def test_the_code_location_holds_exactly_the_reviewed_inventory() -> None:
    reviewed = json.loads(SNAPSHOT.read_text())
    current = inventory()
    for part in ("assets", "checks", "jobs", "schedules", "sensors"):
        missing = sorted(set(reviewed[part]) - set(current[part]))
        unreviewed = sorted(set(current[part]) - set(reviewed[part]))
        assert not missing and not unreviewed, f"{part}: missing {missing}, unreviewed {unreviewed}"
    assert current == reviewed  # default statuses too


def test_every_alert_sensor_runs_by_default() -> None:
    sensors = inventory()["sensors"]
    for name in (
        "cluster_availability",
        "slot_lag",
        "connector_health",
        "kafka_data_loss",
        "proxy_saturation",
        "run_failure_alerts",
        "freshness_checks",
        "cluster_uptime_refresh",
    ):
        assert sensors[name] == "RUNNING", name


def test_every_asset_has_a_health_check_and_every_observed_one_a_freshness_check() -> None:
    current = inventory()
    checked = {c.split(":")[0] for c in current["checks"] if not c.endswith(":freshness_check")}
    fresh = {c.split(":")[0] for c in current["checks"] if c.endswith(":freshness_check")}
    assert set(current["assets"]) - checked == {"cluster_uptime"}  # a figure, not a component
    assert fresh == set(current["assets"])
