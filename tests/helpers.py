"""Small test doubles shared by several test modules."""

from __future__ import annotations

from typing import Any


class Recorder:
    """An alert destination that keeps what it was sent."""

    name = "recorder"

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any]) -> None:
        self.bodies.append(body)
