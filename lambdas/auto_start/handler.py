"""Auto-start Lambda: invoked by the producer API when the database does not answer.

Answers with the seeds' statuses: started, already available, starting, in transition.
Lambda handler: lambdas.auto_start.handler.handler
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from cdc_ops.adapters import Adapters
from cdc_ops.cluster.control import auto_start
from cdc_ops.settings import load_settings

logger = Logger(service="aurora-auto-start")


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    source = str((event or {}).get("source", "unknown"))
    answer = auto_start(
        Adapters(load_settings()).cluster_controller, f"auto-start requested by {source}"
    )
    logger.info("auto-start", extra=answer)
    return answer
