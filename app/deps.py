"""Request-scoped dependencies shared by every router: settings, clock, the unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.config import Settings


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed at the edge before the response is sent
    (scope="function"), rolled back if anything raised. Services only flush."""
    async with request.app.state.sessions() as session:
        async with session.begin():
            yield session
        # Committed: sessions it ended (app.auth.revocations) stop their access tokens now.
        request.app.state.ended_sessions.take_notes(session.info)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
