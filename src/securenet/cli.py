"""The ``securenet`` command line. Thin: it parses, calls the packages, and prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import SecretStr

from securenet.config import ConfigError, Settings, load_settings, mask_url
from securenet.telemetry import TelemetrySettings

__all__ = ["app"]

app = typer.Typer(name="securenet", help="SecureNet: MCP gateway and network threat detection.", no_args_is_help=True)


def _settings() -> Settings:
    """The settings, or exit 2 with one line per invalid SECURENET_* variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default SECURENET_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default SECURENET_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes; each sets up telemetry once.")] = 1,
) -> None:
    """Run the HTTP service under uvicorn."""
    import uvicorn

    settings = _settings()
    _show_database(settings)
    uvicorn.run(
        "securenet.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,  # our logging pipeline handles uvicorn's records
        proxy_headers=False,
    )


def _telemetry_problems(telemetry: TelemetrySettings) -> list[str]:
    return [str(p) for p in (*telemetry.resolve().problems, *telemetry.log_problems())]


def _shown_settings(settings: Settings) -> dict[str, Any]:
    """Every setting but telemetry, as JSON values with secrets masked and defaults resolved."""
    shown: dict[str, Any] = settings.model_dump(mode="json", exclude={"telemetry"})
    for name in shown:
        if isinstance(getattr(settings, name), SecretStr):
            shown[name] = "***"
    shown["database_url"] = mask_url(settings.effective_database_url)
    shown["model_dir"] = str(settings.effective_model_dir)
    if settings.redis_url is not None:
        shown["redis_url"] = mask_url(settings.redis_url)
    shown["mcp_upstreams"] = [mask_url(item) for item in settings.mcp_upstreams]
    return shown


def _effective_config(settings: Settings) -> tuple[dict[str, Any], list[str]]:
    telemetry = settings.telemetry
    resolved = telemetry.resolve()
    problems = _telemetry_problems(telemetry)
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
        **_shown_settings(settings),
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
    """Print every setting (secrets masked); exit 2 if a SECURENET_* value is invalid, 1 for OTEL_* fallbacks."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        for problem in [*exc.problems, *_telemetry_problems(TelemetrySettings())]:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None
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


def _absolute(path: Path) -> Path:
    """A path given on the command line, resolved against the current directory once, here.

    ``-`` (stdin) stays as it is.
    """
    return path if str(path) == "-" else path.expanduser().resolve()


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(f"{name} must be one of {', '.join(choices)}, got {value!r}")


@app.command()
def train(
    file: Annotated[Path, typer.Argument(help="Baseline flows (gzip accepted); - reads stdin.")],
    model: Annotated[Path, typer.Option("--model", help="Where to write the model file.")],
    fmt: FormatOption = "zeek",
    normal_only: Annotated[
        bool,
        typer.Option(
            "--normal-only", help="Train only on rows labelled normal or benign, in any case (needs a label column)."
        ),
    ] = False,
    on_error: OnErrorOption = "skip",
) -> None:
    """Train a tenant's anomaly model on baseline traffic."""
    from securenet import commands

    _check_choice("--format", fmt, commands.FORMATS)
    _check_choice("--on-error", on_error, ("skip", "fail"))
    try:
        summary = commands.train(
            _absolute(file), fmt, _absolute(model), normal_only=normal_only, on_error=on_error, settings=_settings()
        )
    except commands.CommandError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(summary, indent=2))


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="Flows to analyse (gzip accepted); - reads stdin.")],
    model: Annotated[Path | None, typer.Option("--model", help="Model file; without it only the rules run.")] = None,
    fmt: FormatOption = "zeek",
    output: Annotated[str, typer.Option("--output", "-o", help="table, json or ndjson.")] = "table",
    on_error: OnErrorOption = "fail",
) -> None:
    """Score flows: one verdict per record, in input order, plus incidents per source."""
    from securenet import commands

    _check_choice("--format", fmt, commands.FORMATS)
    _check_choice("--output", output, ("table", "json", "ndjson"))
    _check_choice("--on-error", on_error, ("skip", "fail"))
    try:
        commands.analyze(
            _absolute(file),
            fmt,
            None if model is None else _absolute(model),
            output=output,
            on_error=on_error,
            settings=_settings(),
        )
    except commands.CommandError as exc:
        _fail(str(exc))


tenants_app = typer.Typer(help="Manage tenants.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")


def _show_database(settings: Settings) -> None:
    """Say on stderr, in one line with the password masked, which database this command uses
    (the URL was validated with the settings)."""
    typer.echo(f"database: {mask_url(settings.effective_database_url)}", err=True)


@contextmanager
def _database(settings: Settings, *, create: bool = False, migrate: bool = True) -> Iterator[Any]:
    """The configured database (from ``securenet.runtime``), named on stderr, disposed of afterwards.

    Only commands that set ``create`` may create a SQLite file; the others fail when it is
    missing, since an empty new database would answer every question with nothing.
    """
    from securenet.runtime import MissingDatabaseError, open_database

    _show_database(settings)
    try:
        db = open_database(settings, create=create, migrate=migrate)
    except MissingDatabaseError as exc:
        _fail(
            f"no database at {exc.path}; point SECURENET_DATA_DIR at the server's data "
            "directory or SECURENET_DATABASE_URL at its database (`securenet tenants create` makes a new one)"
        )
    try:
        yield db
    finally:
        db.dispose()


@tenants_app.command("create")
def tenants_create(
    name: str,
    rate_limit: Annotated[int | None, typer.Option(help="Requests per minute for this tenant.")] = None,
) -> None:
    """Create a tenant and print its first API key (shown once)."""
    from securenet.store.tenants import TenantExistsError, create_tenant

    try:
        with _database(_settings(), create=True) as db, db.session() as session:
            tenant, key = create_tenant(session, name, rate_limit_per_minute=rate_limit)
            tenant_id, prefix, secret = tenant.id, key.key.prefix, key.secret
    except TenantExistsError as exc:
        _fail(str(exc))
    typer.echo(f"tenant {name} created: id {tenant_id}, key prefix {prefix}", err=True)
    typer.echo("store this API key now; it is not shown again:", err=True)
    typer.echo(secret)


@tenants_app.command("list")
def tenants_list() -> None:
    """List tenants."""
    from securenet.store.tenants import list_tenants

    with _database(_settings()) as db, db.session() as session:
        for tenant in list_tenants(session):
            typer.echo(f"{tenant.id}\t{tenant.name}")


@keys_app.command("create")
def keys_create(tenant_id: str, name: Annotated[str, typer.Option(help="A label for the key.")] = "default") -> None:
    """Create another API key for a tenant (printed once)."""
    from securenet.store.tenants import create_key, get_tenant

    with _database(_settings()) as db, db.session() as session:
        if get_tenant(session, tenant_id) is None:
            _fail(f"no tenant {tenant_id}")
        key = create_key(session, tenant_id, name)
        secret = key.secret
    typer.echo(secret)


@keys_app.command("revoke")
def keys_revoke(prefix: Annotated[str, typer.Argument(help="The key's shown prefix (e.g. snk_AbCdEfGh).")]) -> None:
    """Revoke an API key by its prefix."""
    from securenet.store.tenants import revoke_key

    with _database(_settings()) as db, db.session() as session:
        count = revoke_key(session, prefix)
    if count == 0:
        _fail(f"no active key with prefix {prefix!r}")
    typer.echo(f"revoked {count} key(s)", err=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    with _database(_settings(), create=True, migrate=False) as db:
        db.upgrade(revision)
    typer.echo(f"database at {revision}", err=True)


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. base)."""
    with _database(_settings(), migrate=False) as db:
        db.downgrade(revision)
    typer.echo(f"database at {revision}", err=True)


@app.command()
def worker(
    batch_size: Annotated[int, typer.Option(min=1, help="Messages per micro-batch.")] = 16,
    claim_idle_ms: Annotated[int, typer.Option(min=100, help="Claim other workers' messages idle this long.")] = 30_000,
) -> None:
    """Process the ingest streams (needs SECURENET_REDIS_URL)."""
    import signal

    from securenet.runtime import Services
    from securenet.telemetry import setup_telemetry, shutdown_telemetry
    from securenet.worker import StreamWorker

    settings = _settings()
    if not settings.redis_url:
        _fail("securenet worker needs SECURENET_REDIS_URL; without Redis, `securenet serve` runs the worker itself")
    _show_database(settings)
    setup_telemetry(settings.telemetry)  # logging too
    try:
        with Services.build(settings) as services:
            stream_worker = StreamWorker(
                services.queue, services.orchestrator, batch_size=batch_size, claim_idle_ms=claim_idle_ms
            )
            signal.signal(signal.SIGTERM, lambda *_: stream_worker.stop(timeout_s=0))
            signal.signal(signal.SIGINT, lambda *_: stream_worker.stop(timeout_s=0))
            stream_worker.run()
    finally:
        shutdown_telemetry()


mcp_app = typer.Typer(help="MCP security: offline checks and pinned tool definitions.", no_args_is_help=True)
pins_app = typer.Typer(help="Pinned MCP tool definitions (rug-pull defence).", no_args_is_help=True)
app.add_typer(mcp_app, name="mcp")
mcp_app.add_typer(pins_app, name="pins")


@app.command("mcp-gateway")
def mcp_gateway(
    upstream: Annotated[
        list[str], typer.Option("--upstream", help="NAME=URL or NAME=stdio:COMMAND; served at /mcp/NAME.")
    ],
    listen: Annotated[str, typer.Option(help="HOST:PORT to serve on.")] = "127.0.0.1:8100",
    policy: Annotated[Path | None, typer.Option(help="Policy file (YAML or TOML), reloaded on change.")] = None,
    tenant: Annotated[str, typer.Option(help="Tenant the gateway's verdicts and pins belong to.")] = "default",
) -> None:
    """Run the MCP security gateway in front of the given upstream servers."""
    import uvicorn

    from securenet.api.gateway import create_gateway_app
    from securenet.mcp.gateway import UpstreamSpec
    from securenet.mcp.policy import PolicyError, load_policy

    policy = None if policy is None else _absolute(policy)
    settings = _settings()
    try:
        specs = [UpstreamSpec.parse(item) for item in upstream]
        if policy is not None:
            load_policy(policy)  # refuse to start on an invalid policy
        host, _, port_text = listen.rpartition(":")
        port = int(port_text)
        if not host:
            raise ValueError(f"--listen {listen!r} is not HOST:PORT")
        _show_database(settings)
        gateway = create_gateway_app(settings, specs, policy_file=policy, tenant_id=tenant)
    except (ValueError, PolicyError) as exc:
        _fail(str(exc))
    for spec in specs:
        typer.echo(f"serving {spec.describe()} at http://{listen}/mcp/{spec.name}", err=True)
    uvicorn.run(gateway, host=host.strip("[]"), port=port, log_config=None)


@mcp_app.command("check")
def mcp_check(
    input_file: Annotated[
        Path, typer.Option("--input", help="JSONL: {text, channel} or {message} per line; - is stdin.")
    ],
    policy: Annotated[Path | None, typer.Option(help="Policy file (YAML or TOML).")] = None,
) -> None:
    """Judge texts or MCP messages offline: one JSON verdict per input line, in input order.

    The same analyzers and policy as the gateway (through the orchestrator, with no database:
    no pins, nothing stored), so `--policy FILE` gives the decisions the gateway would.
    """
    import sys

    from securenet.mcp.policy import PolicyError, load_policy
    from securenet.orchestrator import SecurityOrchestrator, SecurityRequest
    from securenet.telemetry import configure_logging

    input_file = _absolute(input_file)
    policy_file = None if policy is None else _absolute(policy)
    try:
        if policy_file is not None:
            load_policy(policy_file)  # a bad policy is one clear error, before any line is read
    except PolicyError as exc:
        _fail(str(exc))
    configure_logging(_settings().telemetry)  # verdict log lines go to stderr, never into the JSON lines
    orchestrator = SecurityOrchestrator.offline(policy_file)
    channels = ("user_input", "tool_description", "tool_output", "tool_arguments")
    try:
        handle = sys.stdin if str(input_file) == "-" else input_file.open(encoding="utf-8")
    except OSError as exc:
        _fail(f"{input_file}: {exc.strerror}")
    with handle:
        for index, line in enumerate(handle):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("each line must be a JSON object")
                if isinstance(item.get("message"), dict) or "jsonrpc" in item:
                    message = item["message"] if isinstance(item.get("message"), dict) else item
                    request = SecurityRequest(tenant_id="cli", message=message)
                else:
                    text, channel = item.get("text"), item.get("channel", "user_input")
                    if not isinstance(text, str):
                        raise ValueError("'text' must be a string")
                    if channel not in channels:
                        raise ValueError(f"'channel' must be one of {', '.join(channels)}")
                    request = SecurityRequest(tenant_id="cli", text=text, channel=channel)
                verdict, _ = orchestrator.analyze(request)
            except (ValueError, KeyError, TypeError) as exc:
                typer.echo(json.dumps({"index": index, "error": f"line {index + 1}: {exc}"}))
                continue
            record = {"index": index, **verdict.to_dict()}
            typer.echo(json.dumps(record))
    orchestrator.close()


@pins_app.command("list")
def pins_list(tenant: Annotated[str | None, typer.Option(help="Only this tenant's pins.")] = None) -> None:
    """List pinned tools and their status (pinned, or changed and awaiting approval)."""
    from securenet.mcp.pins import ToolPinStore
    from securenet.store.pins import ToolPinRepository

    with _database(_settings()) as db:
        pins = ToolPinStore(ToolPinRepository(db)).list(tenant)
    for pin in pins:
        typer.echo(f"{pin.tenant_id}\t{pin.upstream}\t{pin.tool_name}\t{pin.status}\t{pin.sha256[:12]}")


@pins_app.command("approve")
def pins_approve(
    upstream: Annotated[str, typer.Option(help="The upstream name.")],
    tool: Annotated[str, typer.Option(help="The tool whose changed definition to accept.")],
    tenant: Annotated[str, typer.Option(help="The tenant (the standalone gateway uses 'default').")] = "default",
) -> None:
    """Accept a changed tool definition as its new pin, so the tool can be used again."""
    from securenet.mcp.pins import ToolPinStore
    from securenet.store.pins import ToolPinRepository

    with _database(_settings()) as db:
        approved = ToolPinStore(ToolPinRepository(db)).approve(tenant, upstream, tool)
    if not approved:
        _fail(f"no changed definition awaits approval for {upstream}/{tool} (tenant {tenant})")
    typer.echo(f"approved the new definition of {upstream}/{tool}", err=True)
