"""Fixtures shared by the notification tests: channels are global state, so each test
starts and ends with every channel unconfigured and nothing left to send."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from app.db import unit_of_work
from app.notifications.delivery import run_deliveries_once
from app.notifications.models import Notification, NotificationChannel, NotificationOutbox


async def _reset(sessions) -> None:
    async with unit_of_work(sessions) as session:
        await session.execute(update(NotificationChannel).values(sealed=None, endpoint=None,
                                                                 kinds=[], is_active=True))
        await session.execute(update(NotificationOutbox)
                              .where(NotificationOutbox.status == "pending")
                              .values(status="dead", last_error="left by another test"))


@pytest.fixture(autouse=True)
async def _channels_unconfigured(sessions, reference):
    await _reset(sessions)
    yield
    await _reset(sessions)


@pytest.fixture
def deliver(sessions, settings, clock):
    """``await deliver()``: one worker step at the test clock's now; returns attempts."""
    async def run(settings_=None) -> int:
        async with httpx.AsyncClient() as http:
            return await run_deliveries_once(sessions, clock.now(), settings=settings_ or settings,
                                             http=http)
    return run


@pytest.fixture
def configure(client, token_for):
    """``await configure("CGZF", url=…)``: configure the department's demo robot."""
    async def run(department: str, **config) -> dict:
        channels = (await client.get("/api/v1/notification-channels",
                                     headers=token_for("admin"))).json()
        demo = next(c for c in channels if c["department"] == department
                    and c["kind"] == "wecom")
        r = await client.put(f"/api/v1/notification-channels/{demo['id']}",
                             headers=token_for("admin"), json=config)
        assert r.status_code == 200, r.text
        return r.json()
    return run


@pytest.fixture
def inbox_of(sessions, reference):
    """``await inbox_of("cgzf_staff", ticket_id)`` → that user's entries about the ticket."""
    async def read(username: str, ticket_id: int) -> list[Notification]:
        async with sessions() as session:
            rows = await session.execute(select(Notification).where(
                Notification.user_id == reference[username].id,
                Notification.ticket_id == ticket_id).order_by(Notification.id))
            return list(rows.scalars())
    return read
