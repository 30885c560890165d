"""Alembic environment, async. ``app.migrate`` hands in an open connection; the plain
``alembic`` command makes its own engine from WHISTLE_DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import app.models  # noqa: F401  (registers every table)
from app.config import get_settings
from app.db import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _webhook_sealing_settings() -> tuple[str, list[str]]:
    """WHISTLE_SECRET_KEY and WHISTLE_WEBHOOK_SEALING_KEYS as plain values: revision 0003
    seals webhook secrets with them (revisions import no app code). Read when asked, so a
    run that does not pass 0003 reads no settings for it."""
    settings = get_settings()
    return settings.secret_key, [key.get_secret_value() for key in settings.webhook_sealing_keys]


config.attributes.setdefault("webhook_sealing_settings", _webhook_sealing_settings)


def render_item(type_, obj, autogen_context):
    # Migrations spell column types in plain SQLAlchemy so they never import app code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )


# A migration waits at most this long for a table's lock, then fails (and rolls back, DDL
# being transactional on PostgreSQL) rather than queueing every request behind it.
LOCK_TIMEOUT = "5s"


def do_run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        context.run_migrations()


async def run_async_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (connection := config.attributes.get("connection")) is not None:
    do_run_migrations(connection)
else:
    asyncio.run(run_async_migrations())
