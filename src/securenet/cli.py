"""The ``securenet`` command line. Thin: it parses, calls the packages, and prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from securenet.config import Settings

__all__ = ["app"]

app = typer.Typer(name="securenet", help="SecureNet: MCP gateway and network threat detection.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default SECURENET_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default SECURENET_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes; each sets up telemetry once.")] = 1,
) -> None:
    """Run the HTTP service under uvicorn."""
    import uvicorn

    settings = Settings()
    uvicorn.run(
        "securenet.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,  # our logging pipeline handles uvicorn's records
        proxy_headers=False,
    )


def _effective_config(settings: Settings) -> tuple[dict[str, Any], list[str]]:
    telemetry = settings.telemetry
    resolved = telemetry.resolve()
    problems = [str(p) for p in (*resolved.problems, *telemetry.log_problems())]
    otlp = {
        signal: {
            "endpoint": cfg.endpoint,
            "protocol": cfg.protocol,
            "headers": cfg.masked_headers(),
            "timeout_s": cfg.timeout_s,
            "compression": cfg.compression,
            "insecure": cfg.insecure,
        }
        for signal, cfg in resolved.otlp.items()
    }
    config = {
        "host": settings.host,
        "port": settings.port,
        "data_dir": str(settings.data_dir),
        "telemetry": {
            "environment": telemetry.environment,
            "log_format": telemetry.effective_log_format,
            "log_level": telemetry.effective_log_level,
            "sdk_disabled": resolved.sdk_disabled,
            "traces_exporters": list(resolved.traces_exporters),
            "metrics_exporters": list(resolved.metrics_exporters),
            "logs_exporters": list(resolved.logs_exporters),
            "sampler": {"name": resolved.sampler.name, "ratio": resolved.sampler.ratio},
            "propagators": list(resolved.propagators),
            "batch_span_processor": resolved.bsp.__dict__,
            "otlp": otlp,
        },
    }
    return config, problems


@app.command("config")
def show_config() -> None:
    """Print the effective configuration (secrets masked); exit 1 if any value is invalid."""
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's ValidationError names each field
        typer.echo(f"error: invalid configuration:\n{exc}", err=True)
        raise typer.Exit(1) from None
    config, problems = _effective_config(settings)
    typer.echo(json.dumps(config, indent=2, sort_keys=True))
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if problems:
        raise typer.Exit(1)


FormatOption = Annotated[str, typer.Option("--format", "-f", help="Input format: zeek, csv, ndjson or nsl-kdd.")]
OnErrorOption = Annotated[
    str, typer.Option("--on-error", help="skip: skip malformed records and count them; fail: stop at the first.")
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(f"{name} must be one of {', '.join(choices)}, got {value!r}")


@app.command()
def train(
    file: Annotated[Path, typer.Argument(help="Baseline flows (gzip accepted); - reads stdin.")],
    model: Annotated[Path, typer.Option("--model", help="Where to write the model file.")],
    fmt: FormatOption = "zeek",
    normal_only: Annotated[
        bool, typer.Option("--normal-only", help="Train only on rows labelled normal (formats with labels).")
    ] = False,
    on_error: OnErrorOption = "skip",
) -> None:
    """Train a tenant's anomaly model on baseline traffic."""
    from securenet.netsec import commands

    _check_choice("--format", fmt, commands.FORMATS)
    _check_choice("--on-error", on_error, ("skip", "fail"))
    try:
        summary = commands.train(file, fmt, model, normal_only=normal_only, on_error=on_error, settings=Settings())
    except commands.CommandError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(summary, indent=2), err=True)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="Flows to analyse (gzip accepted); - reads stdin.")],
    model: Annotated[Path | None, typer.Option("--model", help="Model file; without it only the rules run.")] = None,
    fmt: FormatOption = "zeek",
    output: Annotated[str, typer.Option("--output", "-o", help="table, json or ndjson.")] = "table",
    on_error: OnErrorOption = "fail",
) -> None:
    """Score flows: one verdict per record, in input order, plus incidents per source."""
    from securenet.netsec import commands

    _check_choice("--format", fmt, commands.FORMATS)
    _check_choice("--output", output, ("table", "json", "ndjson"))
    _check_choice("--on-error", on_error, ("skip", "fail"))
    try:
        commands.analyze(file, fmt, model, output=output, on_error=on_error, settings=Settings())
    except commands.CommandError as exc:
        _fail(str(exc))
