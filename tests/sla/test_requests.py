"""Extensions (延期) move the resolution deadline once approved; suspensions (挂起) stop the
clock and the paused time is not counted."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.clock import SHANGHAI
from app.sla.deadlines import Pause, deadline, extend
from app.sla.working_time import WorkingCalendar, add_working_minutes
from tests.sla.support import act, event_kinds, post, street_item_of, sweep, ticket_row

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


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


async def test_a_suspended_ticket_says_its_clock_is_stopped_and_how_much_is_left(
        client, token_for, sessions, settings, clock, matrix_items):
    code = street_item_of(matrix_items, "CGZF")
    limit = matrix_items[code].resolve_minutes
    clock.set(sh(23, 9))  # Monday
    tid = (await post(client, token_for, code))["id"]
    await act(client, token_for, "cgzf_staff", tid, "claim")
    await act(client, token_for, "cgzf_staff", tid, "request-suspension", {"reason": "等待居民"})
    clock.set(sh(23, 10))  # one working hour used
    was_due = (await ticket_row(sessions, tid)).resolve_due_at
    await act(client, token_for, "sd", tid, "decide-suspension", {"approve": True})

    clock.set(was_due + timedelta(hours=1))  # past the deadline it had: still not overdue
    await sweep(sessions, settings, clock)
    shown = (await client.get(f"/api/v1/tickets/{tid}", headers=token_for("sd"))).json()
    assert (shown["status"], shown["sla_state"]) == ("suspended", "paused")
    assert shown["resolve_due_at"] is None and shown["response_due_at"] is None
    assert shown["resolve_remaining_minutes"] == limit - 60
    assert "sla_overdue" not in await event_kinds(sessions, tid)

    resumed = await act(client, token_for, "cgzf_staff", tid, "resume")
    # The deadline again, from the time left: as if the pause never happened.
    assert resumed["resolve_due_at"] is not None
    assert datetime.fromisoformat(resumed["resolve_due_at"]) == add_working_minutes(
        clock.now(), limit - 60, WorkingCalendar())
    assert (resumed["sla_state"], resumed["resolve_remaining_minutes"]) == ("on_track", None)


async def test_a_ticket_suspended_when_overdue_shows_by_how_much(
        client, token_for, sessions, clock, matrix_items):
    code = street_item_of(matrix_items, "CGZF")
    limit = matrix_items[code].resolve_minutes
    clock.set(sh(23, 9))
    tid = (await post(client, token_for, code))["id"]
    await act(client, token_for, "cgzf_staff", tid, "claim")
    await act(client, token_for, "cgzf_staff", tid, "request-suspension", {"reason": "等待居民"})
    clock.set(add_working_minutes(sh(23, 9), limit + 30, WorkingCalendar()))
    paused = await act(client, token_for, "sd", tid, "decide-suspension", {"approve": True})
    assert (paused["sla_state"], paused["resolve_remaining_minutes"]) == ("paused", -30)
    assert paused["resolve_due_at"] is None


async def test_a_rejected_suspension_keeps_the_clock_running(client, token_for, claimed):
    tid = claimed["id"]
    await act(client, token_for, "cgzf_staff", tid, "request-suspension", {"reason": "等待"})
    kept = await act(client, token_for, "sd", tid, "decide-suspension", {"approve": False})
    assert kept["status"] == "claimed"
