"""Engine, sessions, the declarative base and the column types every domain shares.

One request or one background job is one unit of work: ``unit_of_work`` opens a
transaction and commits it at the edge; services only flush. On SQLite every transaction
starts with ``BEGIN IMMEDIATE`` so that read-then-write paths serialise instead of failing
with "database is locked" half-way through.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
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
    any_,
    bindparam,
    event,
    literal,
    literal_column,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import greenlet_spawn

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


def among(bind: AsyncSession | str, column: Any, values: Any) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(<one array parameter>)``: an IN
    list of the sweep's thousand ids is a thousand parameters to render and bind on every
    statement, an array is one."""
    if is_postgres(bind):
        return column == any_(literal(list(values), postgresql.ARRAY(column.type)))
    return column.in_(list(values))


# --- hot statements run straight on the driver ------------------------------------------------


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled once for the driver (asyncpg): its SQL; each positional
    parameter's name, bind processor and, for a value fixed when it was compiled, that
    value (already processed); and a processor per result column where the column's type
    has one of its own (``UTCDateTime``)."""

    sql: str
    parameters: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    fixed: dict[str, Any]
    results: tuple[Callable[[Any], Any] | None, ...]

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        out = []
        for name, process in self.parameters:
            if name in params:
                out.append(process(params[name]) if process else params[name])
            else:
                out.append(self.fixed[name])
        return out

    def row(self, record: Any) -> tuple[Any, ...]:
        return tuple(value if process is None or value is None else process(value)
                     for value, process in zip(record, self.results, strict=True))


def compile_for_driver(stmt: Any, dialect: Dialect, *, fixed: bool = True) -> DriverStatement:
    """Compile ``stmt`` for ``dialect`` once. Its bound values (an actor's scope, a status
    list) are kept as the statement's own, ``fixed``; values given at each run
    (``run_on_driver``'s ``params``) replace those of the same name — compile those with a
    placeholder value (``bindparam("ticket_id", 0)``). ``fixed=False``: every parameter
    is given at each run."""
    compiled = stmt.compile(dialect=dialect,
                            compile_kwargs={"render_postcompile": True} if fixed else {})
    names = tuple(compiled.positiontup or ())
    processors = compiled._bind_processors
    values = compiled.construct_params() if fixed else {}
    parameters = tuple((name, (compiled.binds[name].type.dialect_impl(dialect)
                               .bind_processor(dialect) if name in compiled.binds
                               else processors.get(name)))
                       for name in names)
    fixed_values = {}
    for name, process in parameters:
        if name in values:
            fixed_values[name] = process(values[name]) if process else values[name]
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        if isinstance(column.type, TypeDecorator) else None
        for column in getattr(stmt, "selected_columns", ()))
    return DriverStatement(compiled.string, parameters, fixed_values, results)


async def on_driver(session: AsyncSession) -> tuple[Any, Any, Any]:
    """The session's own connection (not another from the pool: a request holding one
    and waiting for a second could deadlock the pool under load), as (SQLAlchemy's
    connection, its asyncpg adapter, the asyncpg connection). SQLAlchemy's adapter opens
    the transaction block lazily, at the first statement it runs: opened here if none is
    (its own ``_start_transaction``, so that the session's commit or rollback ends it;
    in autocommit it opens none)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection  # SQLAlchemy's asyncpg adapter (private members)
    driver = raw.driver_connection
    if adapted._transaction is None:
        try:
            await adapted._start_transaction()
        except Exception as exc:
            await _raise_if_lost(connection.invalidate, driver, exc, "BEGIN", [])
            raise
    return connection, adapted, driver


async def _raise_if_lost(invalidate: Callable[[BaseException], Any], driver: Any,
                         exc: Exception, sql: str, arguments: list[Any]) -> None:
    """A lost connection is reported as SQLAlchemy reports it (``connection_invalidated``),
    so that the request answers 503 and the pool forgets the connection."""
    if driver.is_closed():
        await invalidate(exc)
        raise DBAPIError(sql, arguments, exc, connection_invalidated=True) from exc


async def run_on_driver(session: AsyncSession, statement: DriverStatement,
                        params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run a compiled statement on the session's connection and in its transaction,
    straight on asyncpg: the rows, processed as SQLAlchemy would. A session opened by
    ``reading_session`` that has not begun anything runs it on a pooled connection of its
    own instead (no transaction: autocommit)."""
    records = await _fetch_on_driver(session, statement.sql, statement.arguments(params))
    if not any(statement.results):
        return [tuple(r) for r in records]
    return [statement.row(r) for r in records]


async def _fetch_on_driver(session: AsyncSession, sql: str, arguments: list[Any]) -> list[Any]:
    reads: _PooledReads | None = session.info.get(_POOLED_READS)
    if reads is not None and not session.in_transaction():
        driver = await reads.driver()
        invalidate: Callable[[BaseException], Any] = reads.invalidate
    else:
        connection, _adapted, driver = await on_driver(session)
        invalidate = connection.invalidate
    try:
        return await driver.fetch(sql, *arguments)
    except Exception as exc:
        await _raise_if_lost(invalidate, driver, exc, sql, arguments)
        raise


_POOLED_READS = "whistle.pooled_reads"  # a reading session's info: its _PooledReads


class _PooledReads:
    """The pooled connection a reading session's driver statements run on, checked out of
    the engine's pool at the first and returned when the session ends: SQLAlchemy's own
    pool (its size, pre-ping and checkout events apply), without the session's transaction
    bookkeeping and engine ``Connection`` around it, which cost a hot read more CPU than
    its statement (``app.deps.READ_ONLY_OPERATIONS``)."""

    __slots__ = ("_engine", "_fairy")

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._fairy: Any = None

    async def driver(self) -> Any:
        if self._fairy is None:
            self._fairy = await self._engine.raw_connection()
        return self._fairy.driver_connection

    async def invalidate(self, exc: BaseException) -> None:
        fairy, self._fairy = self._fairy, None
        if fairy is not None:
            await greenlet_spawn(fairy.invalidate, exc)  # returns it to the pool, discarded

    async def release(self) -> None:
        fairy, self._fairy = self._fairy, None
        if fairy is not None:
            await greenlet_spawn(fairy.close)


@asynccontextmanager
async def reading_session(sessions: async_sessionmaker[AsyncSession]
                          ) -> AsyncIterator[AsyncSession]:
    """A session for a request that only reads, in autocommit (``sessions`` makes them):
    what it runs through ``run_on_driver`` before anything else runs on a pooled connection
    of its own (``_PooledReads``); what it runs through SQLAlchemy, as any session. One
    connection at a time: once the session has one, driver statements run on it."""
    async with sessions() as session:
        reads = _PooledReads(cast(AsyncEngine, session.bind))
        session.info[_POOLED_READS] = reads
        try:
            yield session
        finally:
            await reads.release()


# Hot statements compiled for the driver, by what shapes them (``driver_statement``'s key):
# a bounded cache, so that an unusual query costs a compile, not memory.
_COMPILED: OrderedDict[tuple, DriverStatement] = OrderedDict()
_COMPILED_MAX = 4096


def driver_statement(session: AsyncSession, key: tuple,
                     build: Callable[[], Any]) -> DriverStatement:
    """``compile_for_driver(build())``, once per dialect and ``key``: the key must name
    everything ``build`` writes into the statement but the values bound at each run."""
    dialect = session.get_bind().dialect
    key = (dialect.name, *key)
    statement = _COMPILED.get(key)
    if statement is None:
        statement = compile_for_driver(build(), dialect)
        _COMPILED[key] = statement
        if len(_COMPILED) > _COMPILED_MAX:
            _COMPILED.popitem(last=False)
    return statement


def runs_on_driver(session: AsyncSession) -> bool:
    """Whether the session's statements may run straight on the driver (asyncpg)."""
    return session.get_bind().dialect.driver == "asyncpg"


# --- many rows in one statement ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ArrayInsert:
    sql: str
    processors: tuple[Callable[[Any], Any] | None, ...]


_ARRAY_INSERTS: dict[tuple, _ArrayInsert] = {}


def _array_insert(dialect: Dialect, table: Table, columns: tuple[str, ...],
                  shared: tuple[bool, ...], conflict: tuple[str, ...] | None,
                  returning: tuple[str, ...], ordered: bool) -> _ArrayInsert:
    """The statement for ``columns``, of which those ``shared`` marks are one value for
    every row (a scalar parameter, not an array of copies); parameters in column order."""
    key = (table.name, columns, shared, conflict, returning, ordered)
    found = _ARRAY_INSERTS.get(key)
    if found is not None:
        return found
    quote = dialect.identifier_preparer.quote
    spread = [c for c, one in zip(columns, shared, strict=True) if not one]
    values, arrays = [], []
    for i, (c, one) in enumerate(zip(columns, shared, strict=True), 1):
        typed = f"${i}::{table.c[c].type.compile(dialect)}"
        if one:
            values.append(typed)
        else:
            values.append(f"v.{quote(c)}")
            arrays.append(typed + "[]")
    names = ", ".join(quote(c) for c in spread)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"SELECT {', '.join(values)} FROM unnest({', '.join(arrays)})")
    sql += f" WITH ORDINALITY AS v({names}, n) ORDER BY n" if ordered else f" AS v({names})"
    if conflict is not None:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    processors = tuple(table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
                       for c in columns)
    found = _ARRAY_INSERTS[key] = _ArrayInsert(sql, processors)
    return found


def _processed(values: list[Any], process: Callable[[Any], Any] | None) -> list[Any]:
    """A column's values through its bind processor, each distinct value once (a batch's
    rows share their instant, kind, title)."""
    if process is None:
        return values
    done: dict[Any, Any] = {}
    try:
        return [done[v] if v in done else done.setdefault(v, process(v)) for v in values]
    except TypeError:  # unhashable: a JSON document
        return [process(v) for v in values]


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]], *,
                      conflict: tuple[str, ...] | None = None, returning: tuple[str, ...] = (),
                      ordered: bool = False) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts with the same keys) in one statement, ``ON CONFLICT (conflict)
    DO NOTHING`` when given; the ``returning`` columns of the rows inserted, in the order of
    ``rows`` when ``ordered`` (which wants the table's sequence id first in ``returning``
    and no conflict: every row is inserted).

    On asyncpg the statement is ``INSERT … SELECT … FROM unnest(…)`` over one array per
    column: one parameter set however many rows. For the SLA sweep's thousands of alerts,
    events and inbox entries an executemany cost a bound-parameter dict and a processed
    row per row in Python and an execution per row in PostgreSQL; here the rows are
    columns of arrays. Elsewhere (SQLite) the dialect's insert, executemany."""
    if not rows:
        return []
    columns = tuple(rows[0])
    if not runs_on_driver(session):
        stmt = insert_for(session)(table)
        if conflict is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=[table.c[c] for c in conflict])
        if returning:
            stmt = stmt.returning(*(table.c[c] for c in returning),
                                  sort_by_parameter_order=ordered)
            return [tuple(r) for r in await session.execute(stmt, rows)]
        await session.execute(stmt, rows)
        return []
    if ordered and (conflict is not None or not returning):
        raise ValueError("ordered: every row inserted and its id returned")
    values = [[row[name] for row in rows] for name in columns]
    # A column with one value for every row (the batch's instant, kind, actor) is sent once;
    # the first column always as an array, so that unnest has one.
    shared = tuple(i > 0 and all(v == column[0] for v in column)
                   for i, column in enumerate(values))
    insert = _array_insert(session.get_bind().dialect, table, columns, shared, conflict,
                           returning, ordered)
    arrays = [(_processed(column[:1], process)[0] if one else _processed(column, process))
              for column, one, process in zip(values, shared, insert.processors, strict=True)]
    records = await _fetch_on_driver(session, insert.sql, arrays)
    out = [tuple(r) for r in records]
    if ordered:  # the sequence gave the rows their ids in the order they were selected
        out.sort(key=lambda r: r[0])
    return out


_ARRAY_UPDATES: dict[tuple, _ArrayInsert] = {}


async def update_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]], *,
                      key: str = "id") -> None:
    """Set each row's columns on the table's row whose ``key`` column is the row's ``key``
    (dicts with the same keys), in one statement: on asyncpg ``UPDATE … FROM unnest(…)``
    over one array per column (see ``insert_rows``), elsewhere an executemany."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != key)
    if not runs_on_driver(session):
        await session.execute(
            table.update().where(table.c[key] == bindparam(f"k_{key}"))
            .values({c: bindparam(f"k_{c}") for c in columns}),
            [{f"k_{c}": v for c, v in row.items()} for row in rows])
        return
    dialect = session.get_bind().dialect
    cache = (table.name, key, columns)
    found = _ARRAY_UPDATES.get(cache)
    if found is None:
        quote = dialect.identifier_preparer.quote
        names = (key, *columns)
        typed = ", ".join(f"${i}::{table.c[c].type.compile(dialect)}[]"
                          for i, c in enumerate(names, 1))
        sql = (f"UPDATE {quote(table.name)} SET "
               + ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
               + f" FROM unnest({typed}) AS v({', '.join(quote(c) for c in names)})"
               f" WHERE {quote(table.name)}.{quote(key)} = v.{quote(key)}")
        found = _ARRAY_UPDATES[cache] = _ArrayInsert(sql, tuple(
            table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in names))
    arrays = [_processed([row[name] for row in rows], process)
              for name, process in zip((key, *columns), found.processors, strict=True)]
    await _fetch_on_driver(session, found.sql, arrays)
