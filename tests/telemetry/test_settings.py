"""OTEL_* variables keep their spec meaning; invalid values warn and fall back."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from securenet.cli import app
from securenet.telemetry import TelemetrySettings


def resolve(**env: str):
    return TelemetrySettings().resolve(env)


def test_defaults_follow_the_spec_and_our_documented_exporter_default() -> None:
    cfg = resolve()
    assert cfg.problems == ()
    assert cfg.sampler.name == "parentbased_always_on"
    assert cfg.propagators == ("tracecontext", "baggage")
    assert cfg.otlp["traces"].protocol == "http/protobuf"
    assert cfg.otlp["traces"].endpoint == "http://localhost:4318/v1/traces"
    assert cfg.otlp["traces"].timeout_s == 10.0
    # With no endpoint configured, nothing is pushed; /metrics still serves Prometheus.
    assert cfg.traces_exporters == ("none",)
    assert cfg.logs_exporters == ("none",)
    assert cfg.metrics_exporters == ("prometheus",)
    assert (cfg.bsp.max_queue_size, cfg.bsp.schedule_delay_ms) == (2048, 5000)


def test_configured_endpoint_turns_otlp_on() -> None:
    cfg = resolve(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318/")
    assert cfg.traces_exporters == ("otlp",)
    assert cfg.metrics_exporters == ("otlp", "prometheus")
    assert cfg.otlp["metrics"].endpoint == "http://collector:4318/v1/metrics"


def test_signal_specific_values_win_and_are_used_as_is() -> None:
    cfg = resolve(
        OTEL_EXPORTER_OTLP_ENDPOINT="http://base:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://traces:9999/custom",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_TIMEOUT="2500",
        OTEL_EXPORTER_OTLP_METRICS_TIMEOUT="100",
        OTEL_EXPORTER_OTLP_COMPRESSION="gzip",
        OTEL_EXPORTER_OTLP_INSECURE="true",
    )
    traces, metrics, logs = cfg.otlp["traces"], cfg.otlp["metrics"], cfg.otlp["logs"]
    assert traces.endpoint == "http://traces:9999/custom"
    assert (traces.protocol, metrics.protocol, logs.protocol) == ("grpc", "grpc", "http/protobuf")
    assert metrics.endpoint == "http://base:4318"  # grpc: the base endpoint, no path
    assert logs.endpoint == "http://base:4318/v1/logs"
    assert (traces.timeout_s, metrics.timeout_s) == (2.5, 0.1)  # the spec's unit is milliseconds
    assert traces.compression == "gzip" and traces.insecure is True


def test_headers_are_parsed_and_percent_decoded() -> None:
    cfg = resolve(OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20abc,x-scope-orgid=tenant1")
    assert cfg.otlp["traces"].headers == {"authorization": "Bearer abc", "x-scope-orgid": "tenant1"}
    # Every value is masked: backends authenticate with headers of their own naming (x-honeycomb-team).
    assert cfg.otlp["traces"].masked_headers() == {"authorization": "***", "x-scope-orgid": "***"}


@pytest.mark.parametrize(
    ("env", "variable", "accepted_hint", "check"),
    [
        (
            {"OTEL_TRACES_SAMPLER": "bogus"},
            "OTEL_TRACES_SAMPLER",
            "parentbased_traceidratio",
            lambda c: c.sampler.name == "parentbased_always_on",
        ),
        (
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
            "OTEL_TRACES_SAMPLER_ARG",
            "[0, 1]",
            lambda c: c.sampler.ratio == 1.0,
        ),
        (
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
            "OTEL_TRACES_SAMPLER_ARG",
            "[0, 1]",
            lambda c: c.sampler.ratio == 1.0,
        ),
        (
            {"OTEL_EXPORTER_OTLP_HEADERS": "good=1,malformed"},
            "OTEL_EXPORTER_OTLP_HEADERS",
            "key=value",
            lambda c: c.otlp["traces"].headers == {"good": "1"},
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "grpc, http/protobuf",
            lambda c: c.otlp["traces"].protocol == "http/protobuf",
        ),
        (
            {"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"},
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "milliseconds",
            lambda c: c.otlp["logs"].timeout_s == 10.0,
        ),
        (
            {"OTEL_TRACES_EXPORTER": "jaeger,console"},
            "OTEL_TRACES_EXPORTER",
            "otlp, console, none",
            lambda c: c.traces_exporters == ("console",),
        ),
        (
            {"OTEL_PROPAGATORS": "tracecontext,xray"},
            "OTEL_PROPAGATORS",
            "b3multi",
            lambda c: c.propagators == ("tracecontext",),
        ),
        (
            {"OTEL_SDK_DISABLED": "yes"},
            "OTEL_SDK_DISABLED",
            "true, false",
            lambda c: c.sdk_disabled is False,
        ),
        (
            {"OTEL_BSP_MAX_QUEUE_SIZE": "-5"},
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "integer",
            lambda c: c.bsp.max_queue_size == 2048,
        ),
    ],
)
def test_invalid_values_name_the_variable_and_fall_back(env, variable, accepted_hint, check) -> None:
    cfg = resolve(**env)
    assert len(cfg.problems) == 1, cfg.problems
    problem = cfg.problems[0]
    assert problem.variable == variable
    assert accepted_hint in problem.accepted
    assert variable in str(problem) and "using" in str(problem)
    assert check(cfg)


def test_malformed_header_value_is_never_echoed() -> None:
    cfg = resolve(OTEL_EXPORTER_OTLP_HEADERS="api-key-without-equals-s3cr3t")
    assert "s3cr3t" not in str(cfg.problems[0])


def test_setup_logs_a_warning_for_each_problem(monkeypatch, caplog, telemetry) -> None:
    with caplog.at_level("WARNING", logger="securenet.telemetry"):
        t = telemetry(OTEL_TRACES_SAMPLER="bogus", OTEL_TRACES_SAMPLER_ARG="0.5")
    assert any("OTEL_TRACES_SAMPLER" in r.getMessage() and "always_on" in r.getMessage() for r in caplog.records)
    assert t.handle.enabled  # a bad value never disables the service


runner = CliRunner()


def test_config_command_prints_effective_config_with_masked_secrets(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20topsecret")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.delenv("OTEL_TRACES_EXPORTER")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert "topsecret" not in result.output
    config = json.loads(result.stdout)
    assert config["telemetry"]["otlp"]["traces"]["headers"] == {"authorization": "***"}
    assert config["telemetry"]["traces_exporters"] == ["otlp"]


def test_config_command_exits_non_zero_on_invalid_values(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "bogus")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 1
    assert "OTEL_TRACES_SAMPLER" in result.stderr


def test_config_command_rejects_invalid_securenet_values(monkeypatch) -> None:
    monkeypatch.setenv("SECURENET_PORT", "99999")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert "SECURENET_PORT='99999' is invalid: out of range" in result.stderr
