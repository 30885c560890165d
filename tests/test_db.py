"""Engine, sessions and SQL helpers shared by every domain (``app.db``)."""

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from app.db import constant


def test_a_constant_is_written_into_the_statement_not_sent_as_a_parameter():
    statement = select(constant(1)).where(constant("dispatched") == constant("claimed"))
    compiled = statement.compile(dialect=postgresql.asyncpg.dialect())
    assert compiled.string == "SELECT 1 \nWHERE 'dispatched' = 'claimed'"
    assert not compiled.positiontup


@pytest.mark.parametrize("value", ["it's", "a b", "Claimed", "1; DROP TABLE tickets", True])
def test_a_constant_needing_quoting_is_refused(value):
    with pytest.raises(ValueError):  # a bool too, though it is an int
        constant(value)


async def test_the_pool_is_sized_by_the_settings(settings, is_postgres):
    # A connection beyond the pool is closed when returned: what WHISTLE_DATABASE_POOL_SIZE
    # and WHISTLE_DATABASE_MAX_OVERFLOW say is what a process keeps and may open.
    if not is_postgres:
        pytest.skip("SQLite has no connection pool to size")
    from contextlib import AsyncExitStack

    from app.main import create_app

    app = create_app(settings.model_copy(update={"database_pool_size": 2,
                                                 "database_max_overflow": 1}))
    engine = app.state.engine
    try:
        async with AsyncExitStack() as held:
            for _ in range(3):
                await held.enter_async_context(engine.connect())
            assert (engine.pool.size(), engine.pool.checkedout(), engine.pool.overflow()) == (
                2, 3, 1)
        assert engine.pool.checkedin() == 2  # the third was closed, not kept
    finally:
        await engine.dispose()
