"""Engine, sessions, the declarative base and the column types every domain shares.

One request or one background job is one unit of work: ``unit_of_work`` opens a
transaction and commits it at the edge; services only flush. On SQLite every transaction
starts with ``BEGIN IMMEDIATE`` so that read-then-write paths serialise instead of failing
with "database is locked" half-way through.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    BigInteger,
    CursorResult,
    DateTime,
    Integer,
    MetaData,
    Result,
    Table,
    event,
    literal_column,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model is mapped to a Table (none to a select or a join), so ``Model.__table__``
    # has insert()/update()/name; DeclarativeBase types it as the wider FromClause.
    __table__: ClassVar[Table]


# Integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. ``session.execute()`` of such a statement
    returns a CursorResult, which it types as the wider Result (which has no rowcount)."""
    return cast(CursorResult[Any], result).rowcount


def utc_now() -> datetime:
    """The one wall clock of the system (tests inject their own through ``app.clock``)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(url: str, *, echo: bool = False, pre_ping: bool = False, pool_size: int = 20,
                max_overflow: int = 20, connect_timeout: float = 10.0) -> AsyncEngine:
    """The pool settings apply to PostgreSQL (see ``Settings.database_pool_size``)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow,
                               pool_pre_ping=pre_ping, connect_args={"timeout": connect_timeout})


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control away from the driver so that BEGIN IMMEDIATE is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine, *,
                     info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    """``info`` goes into every session's ``info`` (the after-event pipeline: processes
    make their factory with ``app.workflow.pipeline.workflow_sessions``)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends cleanly, rolled back otherwise."""
    async with sessions() as session, session.begin():
        yield session


def dialect_of(bind: AsyncSession | str) -> str:
    """The dialect's name (``postgresql`` or ``sqlite``) of a session, or the name itself."""
    if isinstance(bind, str):
        return bind
    engine = bind.get_bind()
    return engine.dialect.name


def insert_for(bind: AsyncSession | str):
    """The dialect's ``insert``, which has ``on_conflict_do_nothing`` / ``_do_update``
    (PostgreSQL and SQLite spell them alike), for a session or a dialect's name: the one
    place that chooses it."""
    return postgresql.insert if dialect_of(bind) == "postgresql" else sqlite.insert


def is_postgres(bind: AsyncSession | str) -> bool:
    return dialect_of(bind) == "postgresql"


_PLAIN_WORD = re.compile(r"[a-z_]+")


def constant(value: str | int, type_: Any = None) -> ColumnElement[Any]:
    """A constant written into the SQL text instead of sent as a parameter (a status, an
    urgency, a LIMIT): for hot statements. PostgreSQL plans a prepared statement once for
    every execution only when that generic plan costs no more than the plans made for the
    actual values; a LIMIT or status sent as a parameter makes the generic estimate worse,
    and the statement was re-planned on every execution — planning then cost more than the
    claim itself. Only plain words and integers, which need no quoting."""
    if isinstance(value, int) and not isinstance(value, bool):
        return literal_column(str(value), type_ or Integer)
    if not isinstance(value, str) or not _PLAIN_WORD.fullmatch(value):  # a bool is no word
        raise ValueError(f"not a plain word: {value!r}")
    return literal_column(f"'{value}'", type_)
