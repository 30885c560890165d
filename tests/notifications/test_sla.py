"""A warning at the warning share and a breach reach the assignee, the department lead and
the department's group robot; an SMS due at night waits for the street's next working
morning, an urgent one goes at once."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from app.notifications.models import NotificationOutbox
from app.sla.models import SlaClock
from tests.notifications.fakes import FakeAliyunSms, FakeWeComRobot, serve
from tests.sla.helpers import sh
from tests.sla.support import act, post, street_item_of, sweep

pytestmark = pytest.mark.usefixtures("reference")


async def test_a_warning_and_a_breach_reach_the_assignee_and_the_department_robot(
        client, token_for, matrix_items, clock, sessions, settings, configure, deliver,
        inbox_of):
    robot = FakeWeComRobot("cgzf-key")
    async with serve(robot.app) as base:
        # The sweep also raises what other tests' tickets have due; a rate high enough
        # for all of them keeps this test's outcome independent of the suite's order.
        await configure("CGZF", url=f"{base}/cgi-bin/webhook/send?key=cgzf-key",
                        kinds=["sla_warning", "sla_overdue"], rate_per_minute=6000)
        ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
        await act(client, token_for, "cgzf_staff", ticket["id"], "claim")
        async with sessions() as session:
            sla = await session.get_one(SlaClock, ticket["id"])
        warn_at, due_at = sla.resolve_warn_at, (await client.get(
            f"/api/v1/tickets/{ticket['id']}", headers=token_for("cgzf_staff"))
        ).json()["resolve_due_at"]

        clock.set(warn_at)
        await sweep(sessions, settings, clock)
        await deliver()
        clock.set(warn_at.fromisoformat(due_at))
        await sweep(sessions, settings, clock)
        await deliver()

    ours = [m for m in robot.to("cgzf-key") if ticket["number"] in m]
    assert [m.split("】")[0] for m in ours] == ["【即将超时预警", "【超时提醒"]
    assert "办结时限" in ours[0]
    for username in ("cgzf_staff", "cgzf_lead"):
        kinds = [n.kind for n in await inbox_of(username, ticket["id"])]
        assert kinds.count("sla_warning") == 1 and kinds.count("sla_overdue") == 1, username
    # Claimed: the other staff member is not told (the assignee is).
    assert "sla_warning" not in [n.kind for n in await inbox_of("cgzf_staff2", ticket["id"])]


@pytest.fixture
async def sms_account(client, token_for):
    """The street's SMS account at a fake Alibaba Cloud endpoint; ``sd`` has a phone and
    takes extension requests by SMS."""
    fake = FakeAliyunSms("LTAI-test", "sms-secret")

    async def setup(base: str, *, secret: str = "sms-secret") -> dict:
        r = await client.post("/api/v1/notification-channels", headers=token_for("admin"), json={
            "kind": "sms", "name": "滨海街道短信", "jurisdiction": "BH", "url": f"{base}/",
            "access_key_id": "LTAI-test", "access_key_secret": secret,
            "sign_name": "滨海街道", "templates": {"default": "SMS_100", "whistle": "SMS_200"}})
        assert r.status_code == 201, r.text
        return r.json()
    return fake, setup


async def _request_extension_at(client, token_for, matrix_items, clock, at) -> dict:
    clock.set(at)
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    await act(client, token_for, "cgzf_staff", ticket["id"], "claim")
    await act(client, token_for, "cgzf_staff", ticket["id"], "request-extension",
              {"minutes": 120, "reason": "等待材料"})
    return ticket


@pytest.mark.parametrize(("asked", "sent"), [
    (sh(2026, 11, 23, 22, 0), sh(2026, 11, 24, 8, 30)),  # Monday night → Tuesday morning
    (sh(2026, 9, 30, 22, 0), sh(2026, 10, 8, 8, 30)),  # before National Day: after the week
])
async def test_an_sms_at_night_waits_for_the_next_working_morning(
        client, token_for, matrix_items, clock, sessions, deliver, sms_account, asked, sent):
    fake, setup = sms_account
    await client.put("/api/v1/notifications/preferences", headers=token_for("sd"), json={
        "phone": "13800001111", "choices": [{"kind": "request", "channel": "sms",
                                            "enabled": True}]})
    async with serve(fake.app) as base:
        await setup(base)
        ticket = await _request_extension_at(client, token_for, matrix_items, clock, asked)
        assert await deliver() == 0
        clock.set(sent - timedelta(minutes=1))
        assert await deliver() == 0
        clock.set(sent)
        assert await deliver() == 1
    (params,) = fake.sent
    assert params["PhoneNumbers"] == "13800001111" and params["TemplateCode"] == "SMS_100"
    assert params["SignName"] == "滨海街道"
    assert params["Timestamp"] == sent.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    variables = json.loads(params["TemplateParam"])
    assert variables["number"] == ticket["number"] and variables["title"] == "申请待审批"
    async with sessions() as session:
        out_id = (await session.execute(select(NotificationOutbox.id).where(
            NotificationOutbox.ticket_id == ticket["id"],
            NotificationOutbox.kind == "request"))).scalar_one()
    assert params["OutId"] == str(out_id)


async def test_an_urgent_sms_goes_at_once_at_night(client, token_for, matrix_items, clock,
                                                   deliver, sms_account):
    fake, setup = sms_account
    await client.put("/api/v1/notifications/preferences", headers=token_for("hw_staff"),
                     json={"phone": "13900002222"})  # SMS for whistles is the staff default
    async with serve(fake.app) as base:
        await setup(base)
        ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
        clock.set(sh(2026, 11, 23, 22, 0))
        await act(client, token_for, "sd", ticket["id"], "whistle", {"departments": ["HW"]})
        assert await deliver() >= 1  # the lead too, if an earlier test gave them a phone
    (params,) = [p for p in fake.sent if p["PhoneNumbers"] == "13900002222"]
    assert params["TemplateCode"] == "SMS_200"
