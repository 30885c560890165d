"""Extensions (延期) move the resolution deadline once approved; suspensions (挂起) stop the
clock and the paused time is not counted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.sla.calendar import WorkingCalendar
from app.sla.deadlines import Pause, deadline, extend
from tests.sla.support import act, event_kinds, post, street_item_of, ticket_row

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
async def claimed(client, token_for, matrix_items) -> dict:
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    return await act(client, token_for, "cgzf_staff", ticket["id"], "claim")


async def test_an_approved_extension_moves_the_deadline(client, token_for, sessions, claimed):
    tid = claimed["id"]
    before = (await ticket_row(sessions, tid)).resolve_due_at
    await act(client, token_for, "cgzf_staff", tid, "request-extension",
              {"minutes": 120, "reason": "需等待材料"})
    await act(client, token_for, "cgzf_staff", tid, "request-extension",
              {"minutes": 60, "reason": "再申请"}, expect=409)
    assert (await ticket_row(sessions, tid)).resolve_due_at == before  # not before approval
    await act(client, token_for, "cgzf_staff", tid, "decide-extension", {"approve": True},
              expect=403)  # the level above decides
    await act(client, token_for, "sd", tid, "decide-extension",
              {"approve": True, "note": "同意"})
    after = (await ticket_row(sessions, tid)).resolve_due_at
    assert after == extend(before, 120, "working", WorkingCalendar())
    assert (await event_kinds(sessions, tid))[-2:] == ["request_extension", "approve_extension"]


async def test_a_rejected_extension_leaves_the_deadline(client, token_for, sessions, claimed):
    tid = claimed["id"]
    before = (await ticket_row(sessions, tid)).resolve_due_at
    await act(client, token_for, "cgzf_staff", tid, "request-extension",
              {"minutes": 120, "reason": "需等待材料"})
    await act(client, token_for, "sd", tid, "decide-extension", {"approve": False})
    assert (await ticket_row(sessions, tid)).resolve_due_at == before
    nothing = await act(client, token_for, "sd", tid, "decide-extension", {"approve": True},
                        expect=409)
    assert "no pending extension" in nothing["detail"]


async def test_suspension_pauses_the_clock(client, token_for, sessions, clock, claimed,
                                           matrix_items):
    tid = claimed["id"]
    item = matrix_items[street_item_of(matrix_items, "CGZF")]
    await act(client, token_for, "cgzf_staff", tid, "request-suspension",
              {"reason": "等待居民回家开门"})
    clock.advance(timedelta(hours=1))
    paused_at = clock.now()
    suspended = await act(client, token_for, "sd", tid, "decide-suspension", {"approve": True})
    assert suspended["status"] == "suspended"
    assert (await ticket_row(sessions, tid)).next_check_at is None  # nothing to check
    clock.advance(timedelta(days=2, hours=3))
    resumed = await act(client, token_for, "cgzf_staff", tid, "resume")
    assert resumed["status"] == "in_progress"
    row = await ticket_row(sessions, tid)
    expected = deadline(start=row.created_at, limit_minutes=item.resolve_minutes,
                        basis="working", cal=WorkingCalendar(),
                        pauses=[Pause(paused_at, clock.now())])
    assert row.resolve_due_at == expected
    assert row.next_check_at is not None


async def test_a_rejected_suspension_keeps_the_clock_running(client, token_for, claimed):
    tid = claimed["id"]
    await act(client, token_for, "cgzf_staff", tid, "request-suspension", {"reason": "等待"})
    kept = await act(client, token_for, "sd", tid, "decide-suspension", {"approve": False})
    assert kept["status"] == "claimed"
