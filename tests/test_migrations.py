"""`alembic upgrade head` on an empty database gives exactly the models (no autogenerate
diff), on whichever backend the suite runs against."""

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
