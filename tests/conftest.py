"""Test harness. One database per test session, migrated with ``alembic upgrade head``:

- SQLite by default (a temp file), or PostgreSQL when ``WHISTLE_TEST_DATABASE_URL`` is a
  ``postgresql+asyncpg://`` URL (``.ci/run`` creates a fresh database for it).
- The reference data (the demo street's tree, departments, the matrix, one user per role)
  is loaded once; tests create their own tickets and assert on what they created.
- The app runs with a ``FrozenClock`` reset to a fixed working-day morning before each test.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import FrozenClock
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.migrate import upgrade_to_head
from app.workflow.pipeline import workflow_sessions

# Monday 2026-11-23 10:00 in Shanghai: inside working hours, on a working day.
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _test_database_url(tmp: Path) -> str:
    url = os.environ.get("WHISTLE_TEST_DATABASE_URL")
    return url or f"sqlite+aiosqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def database_url() -> str:
    tmp = Path(tempfile.mkdtemp(prefix="whistle-test-"))
    return _test_database_url(tmp)


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        attachment_dir=tmp_path_factory.mktemp("attachments"),
        cache_check_seconds=0,
        webhook_blocked_networks=[],  # the tests' webhook receivers listen on loopback
    )


@pytest.fixture
def scratch_database(database_url, is_postgres, tmp_path):
    """An empty database of this pass's kind, apart from the suite's: a SQLite file, or a
    PostgreSQL database beside the test database (dropped afterwards)."""
    if not is_postgres:
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    name = f"{url.database}_scratch"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)

    _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(dsn: str, statement: str) -> None:
    """One statement on its own connection, from sync code or from inside a running loop
    (pytest-asyncio tests): a thread runs it."""
    import asyncio
    import threading

    import asyncpg

    async def go() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(go())
        except BaseException as exc:  # re-raised in the caller
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url)
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def sessions(engine: AsyncEngine, settings: Settings) -> async_sessionmaker[AsyncSession]:
    return workflow_sessions(engine, settings)


@pytest.fixture(scope="session")
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture(autouse=True)
def _reset_clock(clock: FrozenClock) -> None:
    clock.set(T0)


@pytest.fixture(scope="session")
async def app(settings: Settings, engine: AsyncEngine, clock: FrozenClock):
    application = create_app(settings, clock=clock)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


# --- the demo reference data and tokens for its users --------------------------------------


@pytest.fixture(scope="session")
async def reference(sessions):
    """Seed the demo street, departments, matrix and users once; return username → Actor."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.auth.service import actor_for_user
    from app.db import unit_of_work
    from app.demo.seed import seed_reference

    async with unit_of_work(sessions) as session:
        await seed_reference(session=session)
    async with sessions() as session:
        users = (await session.execute(select(User))).scalars().all()
        return {u.username: await actor_for_user(session=session, user=u) for u in users}


@pytest.fixture
def token_for(settings, clock, reference):
    """``token_for("gw01")`` → Authorization headers for that demo user, valid now."""
    from app.auth.tokens import encode_access_token

    def make(username: str) -> dict[str, str]:
        token = encode_access_token(reference[username], secret=settings.secret_key,
                                    now=clock.now(), minutes=settings.access_token_minutes)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def kill_pooled_connection(settings):
    """``await kill_pooled_connection(app)`` terminates the backend of the app's pooled
    connection (PostgreSQL), as a database restart would: the pool does not know yet."""
    async def kill(app) -> None:
        import asyncpg
        from sqlalchemy import text

        async with app.state.engine.connect() as conn:  # the pool's one connection
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        killer = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()

    return kill


@pytest.fixture
def clear_queues(sessions):
    """``await clear_queues()`` cancels every queued (dispatched) ticket of every department:
    the database is shared by the whole session, and a test that claims "the next" ticket
    or reads a whole queue must not meet other tests' tickets there."""
    from sqlalchemy import update

    from app.db import unit_of_work
    from app.tickets.models import Ticket

    async def clear(*statuses: str) -> None:
        async with unit_of_work(sessions) as session:
            await session.execute(update(Ticket).where(
                Ticket.status.in_(statuses or ("dispatched",)),
                Ticket.department_id.is_not(None)).values(status="cancelled"))

    return clear


@pytest.fixture(scope="session")
async def matrix_items(reference, sessions):
    """The current matrix's items by code."""
    from sqlalchemy import select

    from app.matrix.models import MatrixItem
    from app.matrix.service import current_version

    async with sessions() as session:
        version = await current_version(session=session)
        rows = await session.execute(select(MatrixItem).where(MatrixItem.version_id == version.id))
        return {i.code: i for i in rows.scalars()}


@pytest.fixture(scope="session")
def pick_item(matrix_items):
    """``pick_item(level="street", self_handle=False)`` → a matrix item code of that kind."""

    def pick(*, level: str, self_handle: bool | None = None, negative_list: bool | None = None,
             exclude: tuple[str, ...] = ()) -> str:
        for code, item in sorted(matrix_items.items()):
            if code in exclude or item.handling_level != level:
                continue
            if self_handle is not None and item.self_handle_allowed != self_handle:
                continue
            if negative_list is not None and item.negative_list != negative_list:
                continue
            return code
        raise LookupError(f"no item with level={level} self_handle={self_handle}")

    return pick
