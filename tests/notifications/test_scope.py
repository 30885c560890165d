"""Nobody learns of a ticket they could not read, and masked fields stay masked: the same
rules as the API's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.notifications.recipients import within_scope
from app.notifications.repository import ticket_context
from tests.notifications.fakes import FakeWeComRobot, serve
from tests.sla.support import act, post, street_item_of

pytestmark = pytest.mark.usefixtures("reference")

REPORTER = {"name": "王小明", "phone": "13812341234"}


async def test_recipients_are_exactly_those_the_api_shows_the_ticket_to(
        client, token_for, matrix_items, sessions, reference):
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    await act(client, token_for, "sd", ticket["id"], "whistle", {"departments": ["HW"]})
    async with sessions() as session:
        everyone = (await session.execute(select(User.id))).scalars().all()
        context = await ticket_context(session, ticket["id"])
        allowed = {r.user_id for r in await within_scope(session, everyone, context)}
    for username, actor in reference.items():
        if actor.kind != "user":
            continue
        status = (await client.get(f"/api/v1/tickets/{ticket['id']}",
                                   headers=token_for(username))).status_code
        assert (status == 200) == (actor.id in allowed), username
    assert {reference[u].id for u in ("hw_staff", "cgzf_staff", "sd")} <= allowed
    assert reference["gw02"].id not in allowed and reference["cd02"].id not in allowed


async def test_masked_fields_stay_masked_in_messages(client, token_for, matrix_items, configure,
                                                     deliver, inbox_of):
    robot = FakeWeComRobot("hw-key")
    async with serve(robot.app) as base:
        await configure("HW", url=f"{base}/cgi-bin/webhook/send?key=hw-key")
        ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"),
                            reporter=REPORTER)
        await act(client, token_for, "sd", ticket["id"], "whistle", {"departments": ["HW"]})
        assert await deliver() == 1
    (group_text,) = robot.to("hw-key")
    assert "反映人：王**" in group_text and "王小明" not in group_text
    (hw,) = [n.body for n in await inbox_of("hw_staff", ticket["id"])]
    assert "反映人：王**" in hw and "王小明" not in hw  # summoned, not handling: masked
    (cgzf,) = [n.body for n in await inbox_of("cgzf_lead", ticket["id"])
               if n.kind == "new_ticket"]
    assert "反映人：王小明" in cgzf  # the handling department sees the contact in the API too
    for text in (group_text, hw, cgzf):
        assert "13812341234" not in text and "1234" not in text.split("查看")[0]
