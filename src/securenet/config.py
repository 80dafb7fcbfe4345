"""The one Settings object: ``SECURENET_*`` options plus the telemetry settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from securenet.telemetry import TelemetrySettings

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Service configuration. Every field reads ``SECURENET_<FIELD>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="SECURENET_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
