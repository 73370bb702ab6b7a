"""boto3 clients from settings: real AWS in env=aws, moto's server in env=local."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from cdc_ops.settings import Settings

# Standard retry mode backs off on throttling and transient 5xx answers.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20
)


def client(service: str, settings: Settings) -> Any:
    """One client per service and endpoint for the process: making one costs ~60 ms (a session,
    its config files, the service model), and sensors, the database secret and the Lambdas ask
    for them on every tick, connection or invocation. boto3 clients are thread-safe, and a role's
    credentials refresh inside them."""
    aws = settings.aws
    key_id = aws.access_key_id.get_secret_value() if aws.access_key_id else None
    secret = aws.secret_access_key.get_secret_value() if aws.secret_access_key else None
    return _client(service, aws.region, aws.endpoint_url, key_id, secret)


@lru_cache(maxsize=64)
def _client(
    service: str, region: str, endpoint_url: str | None, key_id: str | None, secret: str | None
) -> Any:
    credentials: dict[str, str] = {}
    if key_id and secret:
        credentials = {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
    session = boto3.session.Session(region_name=region, **credentials)
    return session.client(service, endpoint_url=endpoint_url, config=_CONFIG)
