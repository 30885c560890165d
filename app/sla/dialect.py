"""``INSERT ... ON CONFLICT`` for whichever backend the session is bound to (both
PostgreSQL and SQLite have it, with the same SQLAlchemy API)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def insert_for(session: AsyncSession):
    """The dialect's ``insert`` (with ``on_conflict_do_nothing`` / ``_do_update``)."""
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class earliest(FunctionElement):  # noqa: N801  (reads like the SQL function it compiles to)
    """The earliest non-NULL of its arguments, NULL if all are: PostgreSQL's LEAST (which
    skips NULLs); on SQLite, whose min() of several values is NULL if any is, the aggregate
    min() over them."""

    inherit_cache = True
    name = "earliest"

    # SQLAlchemy declares ``type`` a plain attribute; here it is computed from the arguments.
    @property
    def type(self):  # type: ignore[override]  # the type of its arguments (timestamps here)
        return next(iter(self.clauses)).type


@compiles(earliest, "postgresql")
def _least(element, compiler, **kw) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(earliest)
def _min_of_values(element, compiler, **kw) -> str:
    values = " UNION ALL ".join(f"SELECT {compiler.process(c, **kw)}" + (" AS v" if i == 0 else "")
                                for i, c in enumerate(element.clauses))
    return f"(SELECT min(v) FROM ({values}) AS earliest_of)"
