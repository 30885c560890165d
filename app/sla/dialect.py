"""SQL that differs between PostgreSQL and SQLite in the SLA's statements: ``earliest``.
(The dialect's ``INSERT … ON CONFLICT`` is ``app.db.insert_for``.)"""

from __future__ import annotations

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


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
