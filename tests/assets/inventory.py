"""The inventory of the code location: every asset key, check, job, schedule and sensor with its
default status. `python -m tests.assets.inventory` rewrites the reviewed snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("inventory.json")


def inventory() -> dict[str, Any]:
    from definitions import defs

    graph = defs.resolve_asset_graph()
    checks = sorted(
        f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys
    )
    return {
        "assets": sorted(k.to_user_string() for k in graph.get_all_asset_keys()),
        "checks": checks,
        "jobs": sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")),
        "schedules": {
            s.name: s.default_status.value
            for s in sorted(defs.schedules or [], key=lambda s: s.name)
        },
        "sensors": {
            s.name: s.default_status.value for s in sorted(defs.sensors or [], key=lambda s: s.name)
        },
    }


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(inventory(), indent=2) + "\n")
    print(f"wrote {SNAPSHOT}")
