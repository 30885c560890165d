"""Each kind reaches whom the table says: escalations the level's dispatchers, returns the
rerouting dispatcher, resolutions the grid's workers, requests the approver and decisions
the requester, report-in deadlines the summoned department's lead and the street."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.notifications.worker import notifications_pass
from tests.sla.support import act, grid_item_of, post, street_item_of, sweep

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
def kinds_of(inbox_of):
    async def kinds(username: str, ticket_id: int) -> list[str]:
        return [n.kind for n in await inbox_of(username, ticket_id)]
    return kinds


async def test_an_escalation_reaches_the_level_it_climbs_to(client, token_for, matrix_items,
                                                            kinds_of):
    ticket = await post(client, token_for, grid_item_of(matrix_items, primary="CGZF", co="HW"))
    await act(client, token_for, "gw01", ticket["id"], "escalate", {"reason": "需社区协调"})
    assert "escalated" in await kinds_of("cd01", ticket["id"])
    assert "escalated" not in await kinds_of("sd", ticket["id"])
    await act(client, token_for, "cd01", ticket["id"], "escalate", {"reason": "社区无法处理"})
    assert "escalated" in await kinds_of("sd", ticket["id"])


async def test_return_resolve_request_and_decision(client, token_for, matrix_items, kinds_of):
    item = street_item_of(matrix_items, "CGZF")
    returned = await post(client, token_for, item)
    await act(client, token_for, "cgzf_staff", returned["id"], "return", {"reason": "非本部门"})
    assert "returned" in await kinds_of("sd", returned["id"])

    ticket = await post(client, token_for, item)
    tid = ticket["id"]
    await act(client, token_for, "cgzf_staff", tid, "claim")
    await act(client, token_for, "cgzf_staff", tid, "request-extension",
              {"minutes": 60, "reason": "需等待材料"})
    assert "request" in await kinds_of("sd", tid)
    await act(client, token_for, "sd", tid, "decide-extension", {"approve": True})
    assert "decision" in await kinds_of("cgzf_staff", tid)
    assert "decision" not in await kinds_of("cgzf_staff2", tid)
    await act(client, token_for, "cgzf_staff", tid, "start")
    await act(client, token_for, "cgzf_staff", tid, "resolve", {"result": "已清理"})
    assert "awaiting_verification" in await kinds_of("gw01", tid)
    assert "awaiting_verification" not in await kinds_of("gw02", tid)


async def test_a_report_in_deadline_drawing_near_and_missed(client, token_for, matrix_items,
                                                            clock, sessions, settings, kinds_of):
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    tid = ticket["id"]
    await act(client, token_for, "sd", tid, "whistle",
              {"departments": ["HW", "CGZF"], "minutes": 30})
    await act(client, token_for, "cgzf_lead", tid, "report-in")

    async def worker_step() -> None:
        async with httpx.AsyncClient() as http:
            await notifications_pass(sessions, clock.now(), settings=settings, http=http)

    clock.advance(timedelta(minutes=19))
    await worker_step()
    assert "report_in_due" not in await kinds_of("hw_lead", tid)
    clock.advance(timedelta(minutes=1))
    await worker_step()
    await worker_step()  # a second worker, or the next pass: nothing new
    assert (await kinds_of("hw_lead", tid)).count("report_in_due") == 1
    assert (await kinds_of("sd", tid)).count("report_in_due") == 1
    assert "report_in_due" not in await kinds_of("hw_staff", tid)
    assert "report_in_due" not in await kinds_of("cgzf_lead", tid)  # it reported in

    clock.advance(timedelta(minutes=11))
    await sweep(sessions, settings, clock)
    assert "report_in_missed" in await kinds_of("hw_lead", tid)
    assert "report_in_missed" in await kinds_of("sd", tid)
