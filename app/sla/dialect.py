"""``INSERT ... ON CONFLICT`` for whichever backend the session is bound to (both
PostgreSQL and SQLite have it, with the same SQLAlchemy API)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession):
    """The dialect's ``insert`` (with ``on_conflict_do_nothing`` / ``_do_update``)."""
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
