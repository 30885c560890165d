"""Request-scoped dependencies shared by every router: settings, clock, the unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.config import Settings
from app.db import reading_session
from app.messages import Lang, preferred_language


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


# Endpoints that only read (a ticket, a page of tickets, a queue): on PostgreSQL their
# statements run without a transaction block around them (autocommit), which saves the
# BEGIN and COMMIT round trips that were half of a read's. Each of their reads of tickets
# is one statement, so it sees one snapshot as before. Named by operation id; nothing on
# these paths writes.
READ_ONLY_OPERATIONS = frozenset({"get_ticket", "list_tickets", "department_queue",
                                  "jurisdiction_queue"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed at the edge before the response is sent
    (scope="function"), rolled back if anything raised. Services only flush. The
    ``READ_ONLY_OPERATIONS`` on PostgreSQL read in autocommit instead."""
    route = request.scope.get("route")
    reading = request.app.state.read_sessions
    if reading is not None and getattr(route, "operation_id", None) in READ_ONLY_OPERATIONS:
        async with reading_session(reading) as session:
            yield session
        return
    async with request.app.state.sessions() as session:
        async with session.begin():
            yield session
        # Committed: sessions it ended (app.auth.revocations) stop their access tokens now.
        request.app.state.ended_sessions.take_notes(session.info)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_language(request: Request) -> Lang:
    """The language the client prefers for texts (``Accept-Language``): ``zh`` or ``en``.
    ``async`` although it awaits nothing: FastAPI hands a plain ``def`` dependency to its
    thread pool, which cost a hot read a tenth of its CPU (``tests/test_dependencies.py``)."""
    return preferred_language(request.headers.get("accept-language"))


LangDep = Annotated[Lang, Depends(get_language)]
