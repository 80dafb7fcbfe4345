"""The ``securenet`` command line. Thin: it parses, calls the packages, and prints."""

from __future__ import annotations

import json
from typing import Annotated, Any

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
