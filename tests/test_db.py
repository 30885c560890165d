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


# --- many rows in one statement (the SLA sweep's writes) --------------------------------------


@pytest.fixture
async def scratch_table(engine):
    """A table of its own for the row helpers: an id from a sequence, a unique name, an
    instant and a JSON document."""
    import uuid

    from sqlalchemy import JSON, Column, MetaData, String, Table

    from app.db import BigId, UTCDateTime

    table = Table(f"scratch_rows_{uuid.uuid4().hex[:8]}", MetaData(),
                  Column("id", BigId, primary_key=True, autoincrement=True),
                  Column("name", String(40), unique=True, nullable=False),
                  Column("at", UTCDateTime), Column("data", JSON))
    async with engine.begin() as conn:
        await conn.run_sync(table.create)
    yield table
    async with engine.begin() as conn:
        await conn.run_sync(table.drop)


async def test_insert_rows_returns_ids_in_the_order_of_the_rows(sessions, scratch_table):
    from datetime import UTC, datetime, timedelta

    from app.db import insert_rows, unit_of_work

    at = datetime(2026, 12, 3, 8, tzinfo=UTC)
    # Names out of sorted order, so that an order by name or by value would show.
    names = [f"n{(i * 7919) % 1500:04d}" for i in range(1500)]
    rows = [{"name": n, "at": at + timedelta(seconds=i), "data": {"i": i, "name": n}}
            for i, n in enumerate(names)]
    async with unit_of_work(sessions) as session:
        ids = [r[0] for r in await insert_rows(session, scratch_table, rows,
                                               returning=("id",), ordered=True)]
    async with sessions() as session:
        stored = {r.id: r for r in (await session.execute(select(scratch_table))).all()}
    assert len(ids) == 1500
    for i, (row_id, name) in enumerate(zip(ids, names, strict=True)):
        assert stored[row_id].name == name
        assert stored[row_id].at == at + timedelta(seconds=i)  # UTC, aware, as written
        assert stored[row_id].data == {"i": i, "name": name}


async def test_insert_rows_skips_conflicts_and_returns_only_the_new(sessions, scratch_table):
    from app.db import insert_rows, unit_of_work

    async with unit_of_work(sessions) as session:
        await insert_rows(session, scratch_table, [{"name": "a", "data": None},
                                                   {"name": "b", "data": [1]}])
    async with unit_of_work(sessions) as session:
        new = await insert_rows(session, scratch_table,
                                [{"name": n, "data": {"n": n}} for n in ("b", "c", "a", "d")],
                                conflict=("name",), returning=("name",))
    assert sorted(new) == [("c",), ("d",)]
    async with sessions() as session:
        data = dict((await session.execute(select(scratch_table.c.name, scratch_table.c.data)))
                    .all())
    assert data == {"a": None, "b": [1], "c": {"n": "c"}, "d": {"n": "d"}}


async def test_an_ordered_insert_needs_every_row_and_its_id(sessions, scratch_table,
                                                            is_postgres):
    from app.db import insert_rows, unit_of_work

    if not is_postgres:
        pytest.skip("SQLite's insert is SQLAlchemy's own, which orders by itself")
    async with unit_of_work(sessions) as session:
        with pytest.raises(ValueError):
            await insert_rows(session, scratch_table, [{"name": "x"}], conflict=("name",),
                              returning=("id",), ordered=True)


async def test_update_rows_sets_each_row_by_its_key(sessions, scratch_table):
    from datetime import UTC, datetime, timedelta

    from app.db import insert_rows, unit_of_work, update_rows

    at = datetime(2026, 12, 3, 8, tzinfo=UTC)
    async with unit_of_work(sessions) as session:
        ids = [r[0] for r in await insert_rows(
            session, scratch_table, [{"name": f"r{i}", "at": at} for i in range(1200)],
            returning=("id",), ordered=True)]
        await update_rows(session, scratch_table, [
            {"id": row_id, "name": f"s{i}", "at": None if i % 2 else at + timedelta(hours=i)}
            for i, row_id in enumerate(ids) if i % 3])
    async with sessions() as session:
        stored = {r.id: r for r in (await session.execute(select(scratch_table))).all()}
    for i, row_id in enumerate(ids):
        if i % 3 == 0:  # not in the update: untouched
            assert (stored[row_id].name, stored[row_id].at) == (f"r{i}", at)
        else:
            assert stored[row_id].name == f"s{i}"
            assert stored[row_id].at == (None if i % 2 else at + timedelta(hours=i))


async def test_among_finds_the_rows_of_a_thousand_ids(sessions, scratch_table):
    from app.db import among, insert_rows, unit_of_work

    async with unit_of_work(sessions) as session:
        ids = [r[0] for r in await insert_rows(
            session, scratch_table, [{"name": f"m{i}"} for i in range(1500)],
            returning=("id",), ordered=True)]
    wanted = ids[::3] + [max(ids) + 1000]  # and one that is not there
    async with sessions() as session:
        found = (await session.execute(select(scratch_table.c.id).where(
            among(session, scratch_table.c.id, wanted)))).scalars().all()
    assert sorted(found) == sorted(ids[::3])


async def test_insert_rows_sends_a_value_every_row_shares_once_and_stores_it_in_each(
        sessions, scratch_table):
    from datetime import UTC, datetime

    from app.db import insert_rows, unit_of_work

    at = datetime(2026, 12, 3, 8, tzinfo=UTC)
    rows = [{"name": f"k{i}", "at": at, "data": {"same": True}} for i in range(50)]
    async with unit_of_work(sessions) as session:
        ids = [r[0] for r in await insert_rows(session, scratch_table, rows,
                                               returning=("id",), ordered=True)]
        one = await insert_rows(session, scratch_table, [{"name": "single", "at": None}],
                                returning=("name", "at"))
    async with sessions() as session:
        stored = {r.id: r for r in (await session.execute(select(scratch_table))).all()}
    assert [stored[i].name for i in ids] == [f"k{i}" for i in range(50)]
    assert all(stored[i].at == at and stored[i].data == {"same": True} for i in ids)
    assert one == [("single", None)]
