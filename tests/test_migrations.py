"""`alembic upgrade head` on an empty database gives exactly the models (no autogenerate
diff), on whichever backend the suite runs against."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import app.models  # noqa: F401
from app.db import Base


async def test_migrations_match_models(engine):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models and migrations disagree: {differences}"


async def test_0003_seals_existing_webhook_secrets_and_its_downgrade_opens_them(tmp_path):
    # The data step is plain SQL on either backend; a throwaway SQLite file lets the test
    # stop at revision 0002 without touching the suite's database.
    from alembic import command
    from sqlalchemy import text

    from app.config import get_settings
    from app.db import make_engine
    from app.migrate import alembic_config
    from app.webhooks.sealing import PREFIX, keys_of, unseal

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")

    async def migrate(step, revision: str) -> None:
        def run(connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            step(cfg, revision)
        async with engine.begin() as conn:
            await conn.run_sync(run)

    async def stored() -> str:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT secret FROM webhook_subscriptions"))).scalar_one()

    try:
        await migrate(command.upgrade, "0002")
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO webhook_subscriptions (url, secret, event_types, is_active, "
                "created_at) VALUES ('https://dept.example/hook', 'whsec_plain', '[]', 1, "
                "'2026-11-30 00:00:00')"))
        await migrate(command.upgrade, "head")
        sealed = await stored()
        assert sealed.startswith(PREFIX) and "whsec_plain" not in sealed
        assert unseal(sealed, keys_of(get_settings())) == "whsec_plain"
        await migrate(command.downgrade, "0002")
        assert await stored() == "whsec_plain"
    finally:
        await engine.dispose()


async def _migrate(url: str, step, revision: str) -> None:
    from app.db import make_engine
    from app.migrate import alembic_config

    engine = make_engine(url)

    def run(connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        step(cfg, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


async def test_every_revision_upgrades_downgrades_to_base_and_upgrades_again(scratch_database):
    from alembic import command

    from app.db import make_engine

    await _migrate(scratch_database, command.upgrade, "head")
    await _migrate(scratch_database, command.downgrade, "base")
    engine = make_engine(scratch_database)
    try:
        async with engine.connect() as conn:
            left = await conn.run_sync(lambda c: sorted(sa.inspect(c).get_table_names()))
        assert left == ["alembic_version"]
    finally:
        await engine.dispose()
    await _migrate(scratch_database, command.upgrade, "head")
    engine = make_engine(scratch_database)
    try:
        async with engine.connect() as conn:
            def diff(connection):
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                return compare_metadata(context, Base.metadata)
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_a_migration_waiting_for_a_lock_gives_up_instead_of_queueing_requests(
        scratch_database, is_postgres):
    """On PostgreSQL every migration runs with ``lock_timeout``: a long transaction holding
    a table makes the migration fail in seconds (and roll back) rather than wait, while
    every request for that table queues behind its lock request."""
    if not is_postgres:
        pytest.skip("SQLite has no lock_timeout: one writer at a time")
    import asyncio
    import time

    import asyncpg
    from alembic import command
    from sqlalchemy.engine import make_url

    await _migrate(scratch_database, command.upgrade, "head")
    dsn = make_url(scratch_database).set(drivername="postgresql").render_as_string(
        hide_password=False)
    holder = await asyncpg.connect(dsn)
    try:
        transaction = holder.transaction()
        await transaction.start()
        # Every table but alembic_version: whichever the newest revision alters, its DDL
        # needs the lock this transaction's share blocks.
        tables = [r["tablename"] for r in await holder.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'")]
        await holder.execute("LOCK TABLE " + ", ".join(f'"{t}"' for t in tables)
                             + " IN ACCESS SHARE MODE")
        started = time.monotonic()
        with pytest.raises(Exception, match="lock timeout"):
            await asyncio.wait_for(_migrate(scratch_database, command.downgrade, "-1"), 60)
        assert time.monotonic() - started < 30
        await transaction.rollback()
    finally:
        await holder.close()
    await _migrate(scratch_database, command.upgrade, "head")  # nothing half-done


async def test_only_a_street_level_ticket_may_have_a_department(client, token_for, sessions):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from app.tickets.models import Ticket

    posted = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0219", "description": "井盖没了（约束测试）"})
    assert posted.status_code == 201, posted.text
    assert posted.json()["level"] == "street" and posted.json()["department"]
    async with sessions() as session:
        with pytest.raises(IntegrityError, match="department_at_street"):
            await session.execute(update(Ticket).where(Ticket.id == posted.json()["id"])
                                  .values(level="community"))
        await session.rollback()
