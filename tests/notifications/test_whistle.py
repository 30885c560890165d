"""A whistle reaches every summoned department's group robot once and every summoned
user's inbox once, however many workers send."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.notifications.models import NotificationAttempt, NotificationOutbox
from tests.notifications.fakes import FakeDingTalkRobot, FakeWeComRobot, serve
from tests.sla.support import act, post, street_item_of

pytestmark = pytest.mark.usefixtures("reference")

SUMMONED_USERS = ("cgzf_staff", "cgzf_staff2", "cgzf_lead", "hw_staff", "hw_lead")


async def test_a_whistle_summoning_three_departments_is_heard_once_by_each(
        client, token_for, matrix_items, clock, sessions, configure, deliver, inbox_of):
    wecom = FakeWeComRobot("cgzf-key", "sz-key")
    dingtalk = FakeDingTalkRobot("hw-token", "SEChw-secret", clock.now)
    async with serve(wecom.app) as wecom_base, serve(dingtalk.app) as dingtalk_base:
        await configure("CGZF", url=f"{wecom_base}/cgi-bin/webhook/send?key=cgzf-key")
        await configure("SZ", url=f"{wecom_base}/cgi-bin/webhook/send?key=sz-key")
        r = await client.post("/api/v1/notification-channels", headers=token_for("admin"), json={
            "kind": "dingtalk", "name": "环卫所钉钉群", "department": "HW",
            "url": f"{dingtalk_base}/robot/send?access_token=hw-token",
            "secret": "SEChw-secret", "kinds": ["whistle"]})
        assert r.status_code == 201, r.text

        ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"),
                            address="滨海路 18 号")
        await act(client, token_for, "sd", ticket["id"], "whistle",
                  {"departments": ["CGZF", "HW", "SZ"], "minutes": 30})

        # Two workers at once: each message is claimed by one of them.
        sent = await asyncio.gather(deliver(), deliver())
        clock.advance(timedelta(hours=1))
        assert await deliver() == 1  # the new-ticket reminder, at its window's end
        assert await deliver() == 0
    assert [m.split("】")[0] for m in wecom.to("cgzf-key")] == ["【吹哨报到", "【待签收提醒"]

    whistles = [m for m in wecom.to("cgzf-key") + wecom.to("sz-key") + dingtalk.messages
                if m.startswith("【吹哨报到】")]
    assert len(whistles) == 3 and sum(sent) >= 3
    assert len([m for m in wecom.to("cgzf-key") if m.startswith("【吹哨报到】")]) == 1
    assert len([m for m in wecom.to("sz-key") if m.startswith("【吹哨报到】")]) == 1
    assert len(dingtalk.messages) == 1 and dingtalk.refused == []
    text = dingtalk.messages[0]
    assert ticket["number"] in text and "滨海路 18 号" in text
    assert "报到时限：2026-11-23 10:30（北京时间）" in text
    assert text.endswith(f"/app/tickets/{ticket['id']}")

    for username in SUMMONED_USERS:
        entries = [n for n in await inbox_of(username, ticket["id"]) if n.kind == "whistle"]
        assert len(entries) == 1, username
        assert entries[0].urgent and entries[0].link.endswith(f"/app/tickets/{ticket['id']}")
    for outsider in ("gw02", "cd02", "sup_bh"):
        assert await inbox_of(outsider, ticket["id"]) == []

    async with sessions() as session:
        rows = (await session.execute(select(NotificationOutbox.id, NotificationOutbox.status)
                                      .where(NotificationOutbox.ticket_id == ticket["id"],
                                             NotificationOutbox.kind == "whistle"))).all()
        assert {status for _, status in rows} == {"delivered"} and len(rows) == 3
        tries = (await session.execute(select(NotificationAttempt.outbox_id).where(
            NotificationAttempt.outbox_id.in_([i for i, _ in rows])))).scalars().all()
        assert sorted(tries) == sorted(i for i, _ in rows)  # one attempt each
