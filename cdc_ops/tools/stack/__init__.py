"""The embedded local stack: PostgreSQL, PgBouncer, a Kafka broker and moto, under one directory."""

from cdc_ops.tools.stack.stack import COMPONENT_NAMES, Stack, State, StatusRow, UpResult

__all__ = ["COMPONENT_NAMES", "Stack", "State", "StatusRow", "UpResult"]
