"""New tickets in a queue make one reminder per window (待签收提醒), not one per ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.notifications.models import Notification
from tests.conftest import T0
from tests.notifications.fakes import FakeWeComRobot, serve
from tests.sla.support import post, street_item_of

pytestmark = pytest.mark.usefixtures("reference")

# A window of its own (Monday a week after the suite's T0), aligned to five minutes.
START = T0 + timedelta(days=7)


async def _reminders(sessions, user_id: int) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(Notification.dedupe_key, Notification.count).where(
            Notification.user_id == user_id, Notification.kind == "new_ticket"))
        return dict(rows.all())


async def test_twenty_new_tickets_in_a_window_make_one_reminder(
        client, token_for, matrix_items, clock, sessions, reference, configure, deliver):
    robot = FakeWeComRobot("cgzf-key")
    staff = reference["cgzf_staff"].id
    before = await _reminders(sessions, staff)
    async with serve(robot.app) as base:
        await configure("CGZF", url=f"{base}/cgi-bin/webhook/send?key=cgzf-key")
        item = street_item_of(matrix_items, "CGZF")
        tickets = []
        for i in range(20):
            clock.set(START + timedelta(seconds=10 * i))
            tickets.append(await post(client, token_for, item))
        assert await deliver() == 0  # gathered until the window ends
        clock.set(START + timedelta(minutes=5))
        assert await deliver() == 1
        clock.set(START + timedelta(minutes=20))
        assert await deliver() == 0
        # A ticket in the next window starts a new reminder.
        await post(client, token_for, item)
        clock.set(START + timedelta(minutes=25))
        assert await deliver() == 1

    first, second = robot.to("cgzf-key")
    assert first.startswith("【待签收提醒】有新案件待签收（共 20 件）")
    assert f"案件编号：{tickets[-1]['number']}（最新）" in first and "/app/queues/CGZF" in first
    assert "（共" not in second
    after = await _reminders(sessions, staff)
    grown = {k: c - before.get(k, 0) for k, c in after.items() if c != before.get(k, 0)}
    assert sorted(grown.values()) == [1, 20]  # one inbox entry per window, counting its tickets


async def test_urgent_tickets_are_not_gathered(client, token_for, matrix_items, clock,
                                               configure, deliver):
    robot = FakeWeComRobot("cgzf-key")
    async with serve(robot.app) as base:
        await configure("CGZF", url=f"{base}/cgi-bin/webhook/send?key=cgzf-key")
        clock.set(START + timedelta(hours=1))
        await post(client, token_for, street_item_of(matrix_items, "CGZF"), urgency="urgent")
        assert await deliver() == 1
    assert robot.to("cgzf-key")[0].startswith("【待签收提醒】")
