"""The local stack: PostgreSQL, PgBouncer, Kafka, moto, Kafka Connect and Flink, under one
directory."""

from cdc_ops.tools.stack.stack import COMPONENT_NAMES, Stack, State, StatusRow, UpResult

__all__ = ["COMPONENT_NAMES", "Stack", "State", "StatusRow", "UpResult"]
