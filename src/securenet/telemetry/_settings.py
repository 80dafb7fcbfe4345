"""Telemetry configuration: the standard ``OTEL_*`` variables, validated.

Every variable keeps its meaning from the OpenTelemetry specification
(https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
An invalid value never stops the service: it is recorded as a :class:`ConfigProblem`
naming the variable and the accepted values, logged as a warning at setup, and
replaced by the specification's fallback. ``securenet config`` prints the problems
and exits non-zero.

This module reads the environment only; it imports nothing from OpenTelemetry so
that configuration can be validated even where the SDK is not installed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "BatchConfig",
    "ConfigProblem",
    "OtlpConfig",
    "ResolvedTelemetry",
    "SamplerConfig",
    "TelemetrySettings",
]

Signal = Literal["traces", "metrics", "logs"]
Protocol = Literal["grpc", "http/protobuf"]

TRACES_EXPORTERS = ("otlp", "console", "none")
METRICS_EXPORTERS = ("otlp", "prometheus", "console", "none")
LOGS_EXPORTERS = ("otlp", "console", "none")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
PROPAGATORS = ("tracecontext", "baggage", "b3", "b3multi", "none")
PROTOCOLS: tuple[Protocol, ...] = ("grpc", "http/protobuf")
COMPRESSIONS = ("gzip", "none")
LOG_FORMATS = ("console", "json")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

DEFAULT_SERVICE_NAME = "securenet"
#: The spec's default OTLP protocol (SDKs "SHOULD" default to http/protobuf).
DEFAULT_PROTOCOL: Protocol = "http/protobuf"
DEFAULT_ENDPOINTS: dict[Protocol, str] = {
    "grpc": "http://localhost:4317",
    "http/protobuf": "http://localhost:4318",
}
#: OTEL_EXPORTER_OTLP_TIMEOUT default, in milliseconds as in the spec.
DEFAULT_TIMEOUT_MS = 10_000
#: OTEL_BSP_* defaults from the spec.
DEFAULT_BSP = {"SCHEDULE_DELAY": 5000, "EXPORT_TIMEOUT": 30000, "MAX_QUEUE_SIZE": 2048, "MAX_EXPORT_BATCH_SIZE": 512}


@dataclass(frozen=True)
class ConfigProblem:
    """One invalid configuration value and what was used instead."""

    variable: str
    value: str
    accepted: str
    fallback: str

    def __str__(self) -> str:
        return f"{self.variable}={self.value!r} is invalid (accepted: {self.accepted}); using {self.fallback}"


@dataclass(frozen=True)
class OtlpConfig:
    """Resolved OTLP exporter settings for one signal."""

    endpoint: str
    protocol: Protocol
    headers: dict[str, str]
    timeout_s: float
    compression: Literal["gzip", "none"]
    insecure: bool | None

    def masked_headers(self) -> dict[str, str]:
        # Every value: backends authenticate with headers of their own naming (x-honeycomb-team, ...).
        return dict.fromkeys(self.headers, "***")


@dataclass(frozen=True)
class SamplerConfig:
    name: str
    ratio: float


@dataclass(frozen=True)
class BatchConfig:
    schedule_delay_ms: int
    export_timeout_ms: int
    max_queue_size: int
    max_export_batch_size: int


@dataclass(frozen=True)
class ResolvedTelemetry:
    """The effective telemetry configuration after validation and fallbacks."""

    sdk_disabled: bool
    traces_exporters: tuple[str, ...]
    metrics_exporters: tuple[str, ...]
    logs_exporters: tuple[str, ...]
    otlp: dict[Signal, OtlpConfig]
    sampler: SamplerConfig
    propagators: tuple[str, ...]
    bsp: BatchConfig
    blrp: BatchConfig
    metric_export_interval_ms: int
    problems: tuple[ConfigProblem, ...] = field(default=())


class TelemetrySettings(BaseSettings):
    """Telemetry options. ``OTEL_*`` names are the specification's; ``SECURENET_*`` are ours."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: str = Field(default="development", validation_alias="SECURENET_ENVIRONMENT")
    log_format: str = Field(default="console", validation_alias="SECURENET_LOG_FORMAT")
    log_level: str = Field(default="info", validation_alias="SECURENET_LOG_LEVEL")

    def resolve(self, environ: Mapping[str, str] | None = None) -> ResolvedTelemetry:
        """Validate the ``OTEL_*`` variables in ``environ`` (default: the process environment)."""
        return _Resolver(os.environ if environ is None else environ).resolve()

    def log_problems(self) -> list[ConfigProblem]:
        problems: list[ConfigProblem] = []
        if self.log_format.lower() not in LOG_FORMATS:
            problems.append(ConfigProblem("SECURENET_LOG_FORMAT", self.log_format, ", ".join(LOG_FORMATS), "console"))
        if self.log_level.lower() not in LOG_LEVELS:
            problems.append(ConfigProblem("SECURENET_LOG_LEVEL", self.log_level, ", ".join(LOG_LEVELS), "info"))
        return problems

    @property
    def effective_log_format(self) -> str:
        value = self.log_format.lower()
        return value if value in LOG_FORMATS else "console"

    @property
    def effective_log_level(self) -> str:
        value = self.log_level.lower()
        return value if value in LOG_LEVELS else "info"


class _Resolver:
    """Reads each variable once, applying the spec's fallback and recording problems."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ
        self.problems: list[ConfigProblem] = []

    def _get(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def _problem(self, name: str, value: str, accepted: str, fallback: str) -> None:
        self.problems.append(ConfigProblem(name, value, accepted, fallback))

    def _bool(self, name: str, default: bool) -> bool:
        raw = self._get(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        self._problem(name, raw, "true, false", str(default).lower())
        return default

    def _int(self, name: str, default: int, minimum: int = 0) -> int:
        raw = self._get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            self._problem(name, raw, f"an integer >= {minimum}", str(default))
            return default
        return value

    def _exporters(self, signal: Signal, accepted: tuple[str, ...]) -> tuple[str, ...]:
        name = f"OTEL_{signal.upper()}_EXPORTER"
        raw = self._get(name)
        if raw is None:
            # SecureNet's documented default: export over OTLP only when an endpoint is
            # configured, so a fresh install does not retry a collector that is not there.
            configured = self._get("OTEL_EXPORTER_OTLP_ENDPOINT") or self._get(
                f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
            )
            defaults: list[str] = ["otlp"] if configured else []
            if signal == "metrics":
                defaults.append("prometheus")
            return tuple(defaults) or ("none",)
        chosen: list[str] = []
        for item in (part.strip().lower() for part in raw.split(",")):
            if not item:
                continue
            if item not in accepted:
                self._problem(name, item, ", ".join(accepted), "ignored")
            elif item not in chosen:
                chosen.append(item)
        if "none" in chosen:
            return ("none",)
        return tuple(chosen) or ("none",)

    def _otlp(self, signal: Signal) -> OtlpConfig:
        per = f"OTEL_EXPORTER_OTLP_{signal.upper()}_"
        gen = "OTEL_EXPORTER_OTLP_"

        def pick(suffix: str) -> tuple[str, str | None]:
            specific = self._get(per + suffix)
            if specific is not None:
                return per + suffix, specific
            return gen + suffix, self._get(gen + suffix)

        var, raw = pick("PROTOCOL")
        protocol: Protocol = DEFAULT_PROTOCOL
        if raw is not None:
            if raw in PROTOCOLS:
                protocol = raw
            else:
                self._problem(var, raw, ", ".join(PROTOCOLS), DEFAULT_PROTOCOL)

        specific_endpoint = self._get(per + "ENDPOINT")
        if specific_endpoint is not None:
            endpoint = specific_endpoint  # used as is, per the spec
        else:
            base = self._get(gen + "ENDPOINT") or DEFAULT_ENDPOINTS[protocol]
            endpoint = base if protocol == "grpc" else f"{base.rstrip('/')}/v1/{signal}"
        if not endpoint.startswith(("http://", "https://")) and protocol == "http/protobuf":
            var = per + "ENDPOINT" if specific_endpoint else gen + "ENDPOINT"
            fallback = f"{DEFAULT_ENDPOINTS[protocol]}/v1/{signal}"
            self._problem(var, endpoint, "an http:// or https:// URL", fallback)
            endpoint = fallback

        var, raw = pick("HEADERS")
        headers = self._headers(var, raw) if raw is not None else {}

        var, raw = pick("TIMEOUT")
        timeout_ms = DEFAULT_TIMEOUT_MS
        if raw is not None:
            try:
                timeout_ms = int(float(raw))
                if timeout_ms <= 0:
                    raise ValueError
            except ValueError:
                self._problem(var, raw, "a positive number of milliseconds", str(DEFAULT_TIMEOUT_MS))
                timeout_ms = DEFAULT_TIMEOUT_MS

        var, raw = pick("COMPRESSION")
        compression: Literal["gzip", "none"] = "none"
        if raw is not None:
            if raw.lower() in COMPRESSIONS:
                compression = "gzip" if raw.lower() == "gzip" else "none"
            else:
                self._problem(var, raw, ", ".join(COMPRESSIONS), "none")

        var, raw = pick("INSECURE")
        insecure: bool | None = None
        if raw is not None:
            if raw.lower() in ("true", "false"):
                insecure = raw.lower() == "true"
            else:
                self._problem(var, raw, "true, false", "false")
                insecure = False
        return OtlpConfig(endpoint, protocol, headers, timeout_ms / 1000.0, compression, insecure)

    def _headers(self, var: str, raw: str) -> dict[str, str]:
        # W3C Baggage-like list: key1=value1,key2=value2, values percent-decoded.
        headers: dict[str, str] = {}
        for item in raw.split(","):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            key = unquote(key).strip()
            if not sep or not key or any(c.isspace() for c in key):
                self._problem(var, "<redacted>", "comma-separated key=value pairs", "skipping that entry")
                continue
            headers[key.lower()] = unquote(value).strip()
        return headers

    def _sampler(self) -> SamplerConfig:
        raw = self._get("OTEL_TRACES_SAMPLER")
        name = "parentbased_always_on"
        if raw is not None:
            if raw.lower() in SAMPLERS:
                name = raw.lower()
            else:
                self._problem("OTEL_TRACES_SAMPLER", raw, ", ".join(SAMPLERS), name)
        ratio = 1.0
        arg = self._get("OTEL_TRACES_SAMPLER_ARG")
        if arg is not None and name.endswith("traceidratio"):
            try:
                ratio = float(arg)
                if not 0.0 <= ratio <= 1.0:
                    raise ValueError
            except ValueError:
                self._problem("OTEL_TRACES_SAMPLER_ARG", arg, "a number in [0, 1]", "1.0")
                ratio = 1.0
        return SamplerConfig(name, ratio)

    def _propagators(self) -> tuple[str, ...]:
        raw = self._get("OTEL_PROPAGATORS")
        if raw is None:
            return ("tracecontext", "baggage")
        chosen: list[str] = []
        for item in (part.strip().lower() for part in raw.split(",")):
            if not item:
                continue
            if item not in PROPAGATORS:
                self._problem("OTEL_PROPAGATORS", item, ", ".join(PROPAGATORS), "ignored")
            elif item not in chosen:
                chosen.append(item)
        if "none" in chosen:
            return ()
        return tuple(chosen)

    def _batch(self, prefix: str) -> BatchConfig:
        values = {key: self._int(f"{prefix}_{key}", default, 1) for key, default in DEFAULT_BSP.items()}
        if values["MAX_EXPORT_BATCH_SIZE"] > values["MAX_QUEUE_SIZE"]:
            self._problem(
                f"{prefix}_MAX_EXPORT_BATCH_SIZE",
                str(values["MAX_EXPORT_BATCH_SIZE"]),
                f"an integer <= {prefix}_MAX_QUEUE_SIZE",
                str(values["MAX_QUEUE_SIZE"]),
            )
            values["MAX_EXPORT_BATCH_SIZE"] = values["MAX_QUEUE_SIZE"]
        return BatchConfig(
            values["SCHEDULE_DELAY"],
            values["EXPORT_TIMEOUT"],
            values["MAX_QUEUE_SIZE"],
            values["MAX_EXPORT_BATCH_SIZE"],
        )

    def resolve(self) -> ResolvedTelemetry:
        resolved = ResolvedTelemetry(
            sdk_disabled=self._bool("OTEL_SDK_DISABLED", False),
            traces_exporters=self._exporters("traces", TRACES_EXPORTERS),
            metrics_exporters=self._exporters("metrics", METRICS_EXPORTERS),
            logs_exporters=self._exporters("logs", LOGS_EXPORTERS),
            otlp={signal: self._otlp(signal) for signal in ("traces", "metrics", "logs")},
            sampler=self._sampler(),
            propagators=self._propagators(),
            bsp=self._batch("OTEL_BSP"),
            blrp=self._batch("OTEL_BLRP"),
            metric_export_interval_ms=self._int("OTEL_METRIC_EXPORT_INTERVAL", 60_000, 1),
        )
        # dataclasses are frozen: rebuild with the problems collected along the way.
        return ResolvedTelemetry(**{**resolved.__dict__, "problems": tuple(dict.fromkeys(self.problems))})
