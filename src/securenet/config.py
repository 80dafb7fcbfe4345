"""The one Settings object: ``SECURENET_*`` options plus the telemetry settings."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from securenet.telemetry import TelemetrySettings

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Service configuration. Every field reads ``SECURENET_<FIELD>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="SECURENET_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: The database and models live here unless SECURENET_DATABASE_URL / SECURENET_MODEL_DIR say
    #: otherwise. The default, the user's data directory, is the same whatever the working directory.
    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("securenet")), validate_default=True)
    #: Where trained models live (default DATA_DIR/models); models are only ever loaded from inside it.
    model_dir: Path | None = None
    #: HMAC key for model files (>= 16 bytes). With it, unsigned or re-signed models are refused.
    model_key: SecretStr | None = None

    @property
    def effective_model_dir(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.data_dir / "models"

    def model_key_bytes(self) -> bytes | None:
        return None if self.model_key is None else self.model_key.get_secret_value().encode()

    #: SQLAlchemy URL; default SQLite under data_dir. postgresql+psycopg://... scales out.
    database_url: str | None = None
    #: redis://... switches the ingest queue and rate limits to Redis; default in-process.
    redis_url: str | None = None
    #: The admin key (manages tenants through the API). Unset: tenant management is CLI-only.
    admin_key: SecretStr | None = None
    #: Largest request body accepted, in bytes (413 beyond).
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    #: Most flows in one request (413 beyond).
    max_flows_per_request: int = Field(default=100_000, ge=1)
    #: Requests per minute per tenant unless the tenant has its own limit (429 beyond).
    rate_limit_per_minute: int = Field(default=600, ge=1)
    #: Pending batches per tenant stream before ingest answers 503.
    stream_max_len: int = Field(default=10_000, ge=1)
    #: Deliveries of an ingest batch before it goes to the dead-letter stream with its failure.
    stream_max_deliveries: int = Field(default=5, ge=1)
    #: MCP upstreams served by `securenet serve` at /mcp/NAME (NAME=URL or NAME=stdio:COMMAND), JSON list.
    mcp_upstreams: list[str] = Field(default_factory=list)
    #: Seconds an MCP upstream gets to answer the handshake before the attempt counts as failed.
    mcp_upstream_connect_timeout: float = Field(default=10.0, gt=0, le=300)
    #: Seconds between health-check pings of a connected MCP upstream (a lost one is reconnected).
    mcp_upstream_ping_interval: float = Field(default=10.0, gt=0, le=3600)
    #: Longest wait between reconnect attempts to an MCP upstream that is down (backoff doubles from 0.5 s).
    mcp_upstream_backoff_max: float = Field(default=30.0, gt=0, le=3600)
    #: MCP policy file (YAML or TOML) for tenants without a policy of their own; reloaded on change.
    mcp_policy_file: Path | None = None
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    @field_validator("data_dir", "model_dir", "mcp_policy_file")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        """Resolve paths once, here: later joins and a changed working directory cannot move them."""
        return None if path is None else path.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'securenet.db'}"
