"""The database's commands: ``migrate``, ``backup``, ``restore`` and ``prune``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from app.config import get_settings
from app.db import make_engine
from app.migrate import upgrade_to_head


async def migrate_to_head(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


def safe_url(url: str) -> str:
    """``url`` with its password starred, to print."""
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, creds = head.partition("://")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in creds else url


def migrate() -> None:
    """Apply every database migration up to head (idempotent)."""
    settings = get_settings()
    asyncio.run(migrate_to_head(settings.database_url))
    typer.echo(f"migrated {safe_url(settings.database_url)} to head")


def prune() -> None:
    """Remove delivered outbox rows (webhooks, notifications), old delivery logs, expired
    logins' refresh tokens, old login failures, old inbox entries and unused uploads, after
    the WHISTLE_RETAIN_… settings (the worker does it every WHISTLE_PRUNE_INTERVAL_SECONDS
    too)."""
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
