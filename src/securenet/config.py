"""The one Settings object: ``SECURENET_*`` options plus the telemetry settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from securenet.telemetry import TelemetrySettings

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Service configuration. Every field reads ``SECURENET_<FIELD>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="SECURENET_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    #: Where trained models live; models are only ever loaded from inside it.
    model_dir: Path | None = None
    #: HMAC key for model files (>= 16 bytes). With it, unsigned or re-signed models are refused.
    model_key: SecretStr | None = None

    @property
    def effective_model_dir(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.data_dir / "models"

    def model_key_bytes(self) -> bytes | None:
        return None if self.model_key is None else self.model_key.get_secret_value().encode()

    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
