"""Auto-stop Lambda, run hourly by EventBridge: the same decision as the Dagster schedule.

Lambda handler: lambdas.auto_stop.handler.handler
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from cdc_ops.adapters import Adapters
from cdc_ops.cluster.auto_stop import auto_stop
from cdc_ops.settings import load_settings

logger = Logger(service="aurora-auto-stop")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = auto_stop(Adapters(load_settings()))
    answer = {
        "cluster_id": run.cluster.cluster_id,
        "action": run.decision.action.value,
        "reason": run.decision.reason,
        "evidence": run.decision.evidence,
        "outcome": run.result.outcome if run.result else None,
    }
    logger.info("auto-stop decision", extra=answer)
    return answer
