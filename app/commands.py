"""The ``whistle`` commands. Domain logic lives in the domains; these only parse options,
run one unit of work and print what happened."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.cli import cli, run_in_session
from app.config import get_settings
from app.db import make_engine
from app.migrate import ROOT, upgrade_to_head

OPENAPI_PATH = ROOT / "openapi" / "openapi.json"


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


@cli.command()
def migrate() -> None:
    """Apply every database migration up to head (idempotent)."""
    settings = get_settings()
    asyncio.run(_migrate(settings.database_url))
    typer.echo(f"migrated {_safe_url(settings.database_url)} to head")


def _safe_url(url: str) -> str:
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, creds = head.partition("://")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in creds else url


def openapi_document() -> dict:
    from app.main import create_app

    return create_app().openapi()


def render_openapi() -> str:
    return json.dumps(openapi_document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@cli.command()
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


@cli.command("seed-demo")
def seed_demo(
    force: Annotated[bool, typer.Option(help="seed even if the database has tickets")] = False,
) -> None:
    """Load the demo street, departments, matrix, one user per role and historical tickets."""
    from app.demo.seed import seed_demo as _seed

    settings = get_settings()
    asyncio.run(_migrate(settings.database_url))
    summary = run_in_session(lambda session: _seed(session=session, force=force))
    typer.echo(summary)


@cli.command()
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
    asyncio.run(_migrate(settings.database_url))
    if demo:
        from app.demo.seed import DEMO_PASSWORD, DEMO_USERS
        from app.demo.seed import seed_demo as _seed

        typer.echo(run_in_session(lambda session: _seed(session=session, force=False)))
        typer.echo("demo logins (password for all: " + DEMO_PASSWORD + "):")
        for username, role, scope in DEMO_USERS:
            typer.echo(f"  {username:<14} {role:<22} {scope}")
    base = f"http://{host}:{port}"
    typer.echo(f"Whistle listening on {base}  ·  API docs: {base}/docs  ·  database: "
               f"{_safe_url(settings.database_url)}")
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


@cli.command("import-matrix")
def import_matrix(
    file: Annotated[Path, typer.Argument(help="the matrix CSV (UTF-8, with or without BOM)")],
    label: Annotated[str | None, typer.Option(help="a name for the new version")] = None,
) -> None:
    """Import a matrix CSV as a new version; existing tickets keep the version they used."""
    from app.errors import InvalidInput
    from app.matrix.commands import format_invalid_input, import_matrix_file

    try:
        typer.echo(import_matrix_file(file, label=label))
    except InvalidInput as exc:
        typer.echo(format_invalid_input(exc), err=True)
        raise typer.Exit(1) from exc


@cli.command("export-matrix")
def export_matrix(
    file: Annotated[Path, typer.Argument(help="where to write the CSV (UTF-8 with BOM)")],
    version: Annotated[int | None, typer.Option(help="a version id; default: current")] = None,
    headers: Annotated[str, typer.Option(help="column headers: en (code, name …) or zh "
                                         "(事项编码, 事项名称 …); the import reads either")]
    = "en",
) -> None:
    """Export the current (or a given) matrix version as CSV that Excel opens."""
    from app.matrix.commands import export_matrix_file

    if headers not in ("en", "zh"):
        typer.echo("error: --headers: en or zh", err=True)
        raise typer.Exit(2)
    typer.echo(export_matrix_file(file, version_id=version, headers=headers))


@cli.command("import-grids")
def import_grids(
    file: Annotated[Path, typer.Argument(help="a GeoJSON FeatureCollection of streets, "
                                         "communities and grids")],
) -> None:
    """Import or update jurisdictions from GeoJSON; every bad feature is reported."""
    from app.jurisdiction.commands import import_grids_file

    typer.echo(import_grids_file(file))


@cli.command("import-departments")
def import_departments(
    file: Annotated[Path, typer.Argument(help="departments CSV: code,name,name_en,streets")],
) -> None:
    """Import or update departments and the streets they serve."""
    from app.jurisdiction.commands import import_departments_file

    typer.echo(import_departments_file(file))


def _mount_domain_apps() -> None:
    from app.auth.commands import apikeys_app, users_app

    cli.add_typer(users_app, name="users")
    cli.add_typer(apikeys_app, name="apikeys")
    from app.notifications.commands import notifications_app

    cli.add_typer(notifications_app, name="notifications")


_mount_domain_apps()


@cli.command("workflow-doc")
def workflow_doc(
    check: Annotated[bool, typer.Option(help="fail if README.md's section is stale")] = False,
) -> None:
    """Regenerate README.md's workflow diagram and table from the state machine."""
    from app.tickets.workflow_doc import readme_section, update_readme, workflow_markdown

    readme = ROOT / "README.md"
    if check:
        if readme_section(readme) != workflow_markdown():
            typer.echo("README.md's workflow section is stale: run `whistle workflow-doc`",
                       err=True)
            raise typer.Exit(1)
        return
    typer.echo("updated README.md" if update_readme(readme) else "README.md already current")


@cli.command()
def sweep(
    once: Annotated[bool, typer.Option("--once", help="run one sweep now and exit")] = True,
) -> None:
    """One SLA sweep: warnings, breaches, escalations, supervision, whistle deadlines."""
    from app.sla.commands import sweep_command

    typer.echo(sweep_command(once=once))


@cli.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
) -> None:
    """Run the sweep, the report backlog and webhook deliveries every
    WHISTLE_SWEEP_INTERVAL_SECONDS; any number of workers may run against one PostgreSQL
    database. SIGTERM lets the pass under way finish, then the worker exits 0."""
    from app.sla.commands import worker_command

    worker_command(passes=1 if once else None)


@cli.command("worker-check")
def worker_check() -> None:
    """Exit 0 while a worker on this host has ended a pass recently (a container health
    check); 1 when its heartbeat is stale or missing."""
    from app.observability.commands import worker_check_command

    healthy, line = worker_check_command(get_settings())
    typer.echo(line, err=not healthy)
    if not healthy:
        raise typer.Exit(1)


@cli.command("reports-rebuild")
def reports_rebuild() -> None:
    """Recompute every report fact and rollup from the tickets and their timelines."""
    from app.reports.commands import rebuild_command

    typer.echo(rebuild_command())


@cli.command("seed-bulk")
def seed_bulk(
    tickets: Annotated[int, typer.Option(help="how many tickets to generate")] = 100_000,
    streets: Annotated[int, typer.Option(help="streets to spread them over (the demo street "
                                         "plus generated ones)")] = 1,
    days: Annotated[int, typer.Option(help="over how many days before today")] = 365,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 20261123,
    copies: Annotated[int, typer.Option(help="PostgreSQL: Python draws one ticket in this "
                                        "many, SQL copies each into other grids of its "
                                        "street (1: every ticket drawn)")] = 10,
) -> None:
    """Generate a large realistic dataset (tickets, timelines, SLA rows, report rollups);
    bulk COPY and INSERT … SELECT on PostgreSQL, executemany on SQLite."""
    from app.reports.commands import seed_bulk_command

    typer.echo(seed_bulk_command(tickets=tickets, streets=streets, days=days, seed=seed,
                                 copies=copies))


@cli.command()
def prune() -> None:
    """Remove delivered webhook outbox rows, old delivery logs, expired logins' refresh
    tokens and old login failures, after the WHISTLE_RETAIN_… settings (the worker does it
    every WHISTLE_PRUNE_INTERVAL_SECONDS too)."""
    from app.clock import Clock
    from app.db import make_sessionmaker
    from app.retention import prune as _prune

    settings = get_settings()

    async def _main():
        engine = make_engine(settings.database_url)
        try:
            return await _prune(make_sessionmaker(engine), now=Clock().now(), settings=settings)
        finally:
            await engine.dispose()

    typer.echo(asyncio.run(_main()))


@cli.command("calendar-check")
def calendar_check() -> None:
    """Exit 1 with a warning when China's holidays and make-up workdays (调休) of this year
    or, from December on, the next are neither in the installed holidays package nor
    entered as overrides for all streets."""
    from zoneinfo import ZoneInfo

    from app.clock import Clock
    from app.sla.national_calendar import calendar_status

    settings = get_settings()
    status = run_in_session(lambda session: calendar_status(
        session, now=Clock().now(), zone=ZoneInfo(settings.timezone)))
    for year in status.years:
        source = ("holidays " + status.holidays_version if year.known_to_holidays
                  else f"{year.overrides} overrides" if year.overrides else "unknown")
        typer.echo(f"{year.year}: {source}")
    if status.warning:
        typer.echo(f"warning: {status.warning}", err=True)
        raise typer.Exit(1)


@cli.command()
def backup(
    folder: Annotated[Path, typer.Argument(help="a new (or empty) folder for the backup")],
) -> None:
    """Back up the database (pg_dump, or SQLite's online backup) and the attachments."""
    from app.backup import BackupError
    from app.backup import backup as _backup

    try:
        typer.echo(_backup(folder, settings=get_settings()))
    except BackupError as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from exc


@cli.command()
def restore(
    folder: Annotated[Path, typer.Argument(help="a folder made by `whistle backup`")],
) -> None:
    """Restore a backup into WHISTLE_DATABASE_URL and WHISTLE_ATTACHMENT_DIR (stop the API
    and workers first; existing attachments are kept beside, renamed)."""
    from app.backup import BackupError
    from app.backup import restore as _restore

    try:
        typer.echo(_restore(folder, settings=get_settings()))
    except BackupError as exc:
        typer.echo(f"restore failed: {exc}", err=True)
        raise typer.Exit(1) from exc


@cli.command("suggest-train")
def suggest_train() -> None:
    """Rebuild the suggestion model (智能分拨) for the current matrix version from the
    matrix's words, closed tickets and dispatchers' corrections; every process serves it."""
    from app.suggest.commands import suggest_train_command

    typer.echo(suggest_train_command())
