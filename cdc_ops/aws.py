"""boto3 clients from settings: real AWS in env=aws, moto's server in env=local."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from cdc_ops.settings import Settings

# Standard retry mode backs off on throttling and transient 5xx answers.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20
)


def client(service: str, settings: Settings) -> Any:
    aws = settings.aws
    credentials: dict[str, str] = {}
    if aws.access_key_id and aws.secret_access_key:
        credentials = {
            "aws_access_key_id": aws.access_key_id.get_secret_value(),
            "aws_secret_access_key": aws.secret_access_key.get_secret_value(),
        }
    session = boto3.session.Session(region_name=aws.region, **credentials)
    return session.client(service, endpoint_url=aws.endpoint_url, config=_CONFIG)
