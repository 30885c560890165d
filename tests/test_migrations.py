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
