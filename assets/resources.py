"""The Dagster resource that hands assets, ops and sensors their adapters.

One resource holding the composition root rather than a typed resource per adapter: the adapters
share one Settings, and which class each one is (local stack or AWS, Kafka Connect or Confluent
Cloud, ...) is decided at run time by the settings, which a ConfigurableResource per adapter
could only express by branching again. Dagster builds a fresh copy of the resource for each run
(and each sensor tick) and calls `setup_for_execution` on it, so the settings are read once per
run or tick and every step of that run shares the same adapters.

Only the settings file's path is resource config (shown in the UI); the settings themselves, and
any secret in them, are read from the environment and that file.
"""

from __future__ import annotations

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from cdc_ops.adapters import Adapters
from cdc_ops.settings import Settings, load_settings

# Dagster may set the resource up more than once within one run (its job context and its steps'
# executor each initialize resources): the adapters of the latest run are kept here so that a run
# reads its settings once. A sensor tick has no run id and gets its own.
_LATEST_RUN: dict[str, Adapters] = {}


class CdcOpsResource(ConfigurableResource):
    """cdc-ops settings (env local|aws, endpoints, names, thresholds) and the adapters they give."""

    config_file: str | None = None
    _adapters: Adapters | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        run_id = context.run.run_id if context.run is not None else None
        if run_id is not None and run_id in _LATEST_RUN:
            self._adapters = _LATEST_RUN[run_id]
            return
        self._adapters = Adapters(load_settings(self.config_file))
        if run_id is not None:
            _LATEST_RUN.clear()
            _LATEST_RUN[run_id] = self._adapters

    @property
    def adapters(self) -> Adapters:
        if self._adapters is None:  # used outside a run, e.g. called directly in a test
            self._adapters = Adapters(load_settings(self.config_file))
        return self._adapters

    @property
    def settings(self) -> Settings:
        return self.adapters.settings
