"""The one Settings object: ``SECURENET_*`` options plus the telemetry settings.

:func:`load_settings` reads them and turns any invalid value into a :class:`ConfigError`
with one line per problem, naming the variable, what is wrong and the accepted form,
with secret values hidden. docs/configuration.md lists every variable.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, get_args

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from securenet.telemetry import TelemetrySettings

__all__ = ["ConfigError", "Settings", "load_settings", "mask_url"]

DATABASE_URL_FORM = "sqlite:///PATH or postgresql[+psycopg]://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
REDIS_URL_FORM = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS) or unix:///PATH"
UPSTREAMS_FORM = 'a JSON list of "NAME=URL" or "NAME=stdio:COMMAND" strings, e.g. ["docs=http://127.0.0.1:9000/mcp"]'
#: The psycopg 3 driver, the one SecureNet installs; postgres:// and postgresql:// are read as it.
POSTGRES_SCHEME = "postgresql+psycopg"
#: As the model files' HMAC requires (securenet.netsec.models).
MIN_MODEL_KEY_BYTES = 16


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
    mcp_upstreams: Annotated[list[str], NoDecode] = Field(default_factory=list)
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

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        scheme, sep, rest = value.partition("://")
        if not sep:
            raise ValueError(f"not a URL (accepted: {DATABASE_URL_FORM})")
        scheme = scheme.lower()
        if scheme in ("postgres", "postgresql", POSTGRES_SCHEME):
            value = f"{POSTGRES_SCHEME}://{rest}"
        elif scheme != "sqlite":
            raise ValueError(f"unsupported scheme {scheme!r} (accepted: {DATABASE_URL_FORM})")
        elif not rest.startswith("/") or rest == "/":
            raise ValueError(f"a SQLite URL needs three slashes and a path (accepted: {DATABASE_URL_FORM})")
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except (ArgumentError, ValueError) as exc:
            raise ValueError(f"not a valid URL: {exc} (accepted: {DATABASE_URL_FORM})") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        scheme = value.strip().partition("://")[0].lower()
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"not a Redis URL (accepted: {REDIS_URL_FORM})")
        return value.strip()

    @field_validator("model_key")
    @classmethod
    def _model_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_MODEL_KEY_BYTES:
            raise ValueError(f"too short (accepted: a key of at least {MIN_MODEL_KEY_BYTES} bytes)")
        return value

    @field_validator("mcp_upstreams", mode="before")
    @classmethod
    def _upstreams_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return []
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"not a JSON list ({exc.msg} at column {exc.colno}) (accepted: {UPSTREAMS_FORM})"
                ) from None
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"not a JSON list of strings (accepted: {UPSTREAMS_FORM})")
        return value

    @field_validator("mcp_upstreams")
    @classmethod
    def _upstreams_entries(cls, value: list[str]) -> list[str]:
        if not value:
            return value
        from securenet.mcp.upstream import UpstreamSpec

        problems = []
        for item in value:
            try:
                UpstreamSpec.parse(item)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError(f"{'; '.join(problems)} (accepted: {UPSTREAMS_FORM})")
        return value

    @field_validator("mcp_policy_file")
    @classmethod
    def _policy_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        from securenet.mcp.policy import PolicyError, load_policy

        try:
            load_policy(value)
        except PolicyError as exc:
            lines = [line.strip() for line in str(exc).removeprefix(f"{value}: ").splitlines()]
            raise ValueError(f"{' '.join(lines)} (accepted: a YAML or TOML policy file, see docs/mcp.md)") from None
        return value


class ConfigError(ValueError):
    """Settings that cannot be used: one line per problem in :attr:`problems`, secrets hidden."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(problems))
        self.problems = problems


def load_settings() -> Settings:
    """Read the settings from the environment, or raise :class:`ConfigError` naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError([_describe(error) for error in exc.errors()]) from None
    except SettingsError as exc:  # a value pydantic-settings could not decode as JSON
        match = re.search(r'field "(\w+)"', str(exc))
        variable = _variable(match.group(1)) if match else "a SECURENET_* variable"
        raise ConfigError([f"{variable} is invalid: not valid JSON ({exc.__cause__})"]) from None


_USERINFO_PASSWORD = re.compile(r"(://[^/@:\s\[\]]*):[^/@\s]*@")


def mask_url(url: str) -> str:
    """``url`` with the password of its user info replaced by ``***``."""
    return _USERINFO_PASSWORD.sub(r"\1:***@", url)


def _variable(field: str) -> str:
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def _accepted_numbers(field: str) -> str:
    info = Settings.model_fields[field]
    kind = "a number of seconds" if info.annotation is float else "an integer"
    low = high = None
    above = False
    for constraint in info.metadata:
        if getattr(constraint, "gt", None) is not None:
            low, above = constraint.gt, True
        low = getattr(constraint, "ge", low)
        high = getattr(constraint, "le", high)
    if low is None:
        return kind
    lower = f"> {low}" if above else f">= {low}"
    if high is None:
        return f"{kind} {lower}"
    return f"{kind} {lower} and <= {high}" if above else f"{kind} from {low} to {high}"


def _describe(error: ErrorDetails) -> str:
    """One line for one pydantic error: the variable, its value (secrets hidden), the problem, the form."""
    field = str(error["loc"][0]) if error["loc"] else ""
    variable = _variable(field) if field else "the configuration"
    info = Settings.model_fields.get(field)
    value = error.get("input")
    if info is not None and (info.annotation is SecretStr or SecretStr in get_args(info.annotation)):
        shown = "<hidden>"
    elif isinstance(value, str):
        shown = repr(value if len(value) <= 80 else value[:77] + "...")
    else:
        shown = repr(value)
    kind = str(error["type"])
    if kind == "value_error":
        problem = str(error["ctx"]["error"])
    elif kind.startswith(("int_", "float_", "greater_than", "less_than")) and info is not None:
        what = "out of range" if kind.startswith(("greater_than", "less_than")) else "not a valid number"
        if kind.startswith("int_"):
            what = "not a valid integer"
        problem = f"{what} (accepted: {_accepted_numbers(field)})"
    else:
        problem = str(error["msg"])
    return mask_url(f"{variable}={shown} is invalid: {problem}")
