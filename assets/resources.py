"""The Dagster resource that hands the control plane its settings.

Only the settings file's path is resource config (shown in the UI); the settings themselves, and any
secret in them, are read at run time from the environment and that file.
"""

from __future__ import annotations

from dagster import ConfigurableResource

from cdc_ops.settings import Settings, load_settings


class CdcOpsResource(ConfigurableResource):
    """cdc-ops settings: env (local|aws), endpoints, resource names and thresholds."""

    config_file: str | None = None

    def settings(self) -> Settings:
        return load_settings(self.config_file)
