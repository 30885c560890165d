"""The service's own commands: ``serve`` (the API under uvicorn) and ``openapi`` (the
document its routes generate)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.cli import run_in_session
from app.cli.database import migrate_to_head, safe_url
from app.config import get_settings
from app.migrate import ROOT

OPENAPI_PATH = ROOT / "openapi" / "openapi.json"


def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
    demo: Annotated[bool, typer.Option(help="load the demo dataset if the database is empty")]
    = False,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
    proxy_headers: Annotated[bool | None, typer.Option(
        "--proxy-headers/--no-proxy-headers",
        help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips "
             "(default: WHISTLE_PROXY_HEADERS)")] = None,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        help="comma-separated addresses or CIDRs of the reverse proxies to trust, '*' for any "
             "(default: WHISTLE_FORWARDED_ALLOW_IPS)")] = None,
) -> None:
    """Apply migrations, optionally load the demo dataset, and run the API with uvicorn."""
    import uvicorn

    settings = get_settings()
    warning = exposure_warning(host, settings.env)
    if warning:
        typer.secho(warning, err=True, fg=typer.colors.RED, bold=True)
    asyncio.run(migrate_to_head(settings.database_url))
    if demo:
        from app.demo.seed import DEMO_PASSWORD, DEMO_USERS
        from app.demo.seed import seed_demo as _seed

        typer.echo(run_in_session(lambda session: _seed(session=session, force=False)))
        typer.echo("demo logins (password for all: " + DEMO_PASSWORD + "):")
        for username, role, scope in DEMO_USERS:
            typer.echo(f"  {username:<14} {role:<22} {scope}")
    base = f"http://{host}:{port}"
    typer.echo(f"Whistle listening on {base}  ·  API docs: {base}/docs  ·  database: "
               f"{safe_url(settings.database_url)}")
    from app.observability.logs import logging_config
    from app.observability.metrics import prepare_multiprocess

    if workers > 1:
        prepare_multiprocess()  # before any worker process creates a metric
    # Our request line (route template, request id, actor) replaces uvicorn's access log,
    # whose lines carry the query string; uvicorn's own lines go through our formatter.
    # uvicorn raises SIGTERM again once it has shut down gracefully; that was a clean stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Behind nginx the client's address (login limits, logs) comes from X-Forwarded-For,
    # trusted only from the proxies named here.
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level.lower(), access_log=False,
                log_config=logging_config(settings.log_renderer, settings.log_level),
                # typed int, but uvicorn waits with asyncio.timeout(), which takes seconds as a float
                timeout_graceful_shutdown=settings.shutdown_grace_seconds,  # type: ignore[arg-type]
                proxy_headers=settings.proxy_headers if proxy_headers is None else proxy_headers,
                forwarded_allow_ips=forwarded_allow_ips or settings.forwarded_allow_ips)


def exposure_warning(host: str, env: str) -> str | None:
    """What ``serve`` shouts when it listens beyond this machine outside production mode
    (demo passwords, development defaults), or None."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a host name: assume it is reachable
    if loopback or env == "production":
        return None
    return (f"WARNING: listening on {host}, reachable from other machines, in {env} mode: "
            "demo logins and development defaults are open to anyone who can reach it. "
            "Set WHISTLE_ENV=production (with WHISTLE_SECRET_KEY) or bind to 127.0.0.1.")


def openapi_document() -> dict:
    from app.main import create_app

    return create_app().openapi()


def render_openapi() -> str:
    return json.dumps(openapi_document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def openapi(
    check: Annotated[bool, typer.Option(help="fail if the committed file differs")] = False,
    path: Annotated[Path, typer.Option(help="where to write")] = OPENAPI_PATH,
) -> None:
    """Write the OpenAPI document generated from the app to openapi/openapi.json."""
    text = render_openapi()
    if check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            typer.echo(f"{path} is out of date: run `whistle openapi`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{path} is up to date")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {path}")
