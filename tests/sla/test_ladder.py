"""The escalation ladder (小事不出网格，大事不出社区): automatic by the sweep when a level
fails its limits (not signed for in time, not resolved in time), by hand (上报), each level
reached at most once — walked end to end with the clock moved by the test."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.clock import SHANGHAI
from app.sla.models import Escalation
from app.sla.working_time import WorkingCalendar, add_working_minutes
from app.tickets.models import TicketEvent
from tests.sla.support import (
    act,
    event_kinds,
    grid_item_of,
    item_policy,
    post,
    sweep,
    ticket_row,
)

pytestmark = pytest.mark.usefixtures("reference")


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def grid_item(matrix_items) -> str:
    return grid_item_of(matrix_items, primary="CGZF", co="HW")


async def test_a_ticket_walks_up_the_whole_ladder_to_a_whistle_and_report_ins(
        client, token_for, sessions, settings, clock, grid_item):
    async with item_policy(sessions, grid_item, auto_whistle=True, co_departments=["HW", "SZ"],
                           response_minutes=120, resolve_minutes=420):
        # Monday 10:00: posted into the grid's queue; 2 working hours to respond, 1 day to
        # resolve; no grace (the category's).
        ticket = await post(client, token_for, grid_item)
        tid = ticket["id"]
        row = await ticket_row(sessions, tid)
        assert row.level == "grid" and row.response_due_at == sh(23, 12)
        assert row.resolve_due_at == sh(24, 10) and row.next_check_at == sh(23, 11, 36)

        clock.set(sh(23, 11, 40))  # 80 % of the response limit used: 即将超时
        await sweep(sessions, settings, clock)
        assert await event_kinds(sessions, tid) == ["created", "sla_warning"]
        assert (await ticket_row(sessions, tid)).sla_state == "warning"

        clock.set(sh(24, 10, 1))  # Tuesday: nobody signed for it; both limits are gone
        await sweep(sessions, settings, clock)
        assert (await event_kinds(sessions, tid))[2:] == ["sla_overdue", "sla_overdue",
                                                         "escalate"]
        row = await ticket_row(sessions, tid)
        assert (row.level, row.status, row.department_id) == ("community", "dispatched", None)
        assert row.response_due_at == sh(24, 14, 1)  # a new queue: a new response clock

        clock.set(sh(25, 10, 2))  # Wednesday: nobody at the community signed for it either
        await sweep(sessions, settings, clock)
        assert (await event_kinds(sessions, tid))[5:] == ["sla_overdue", "escalate",
                                                         "supervised", "whistle_blown"]
        row = await ticket_row(sessions, tid)
        assert (row.level, row.status, row.sla_state) == ("street", "dispatched", "overdue")

        whistles = (await client.get("/api/v1/whistles", params={"ticket_id": tid},
                                     headers=token_for("sd"))).json()
        assert whistles["total"] == 1 and whistles["items"][0]["auto"] is True
        whistle_id = whistles["items"][0]["id"]

        clock.set(sh(25, 10, 20))  # HW reports in on time; SZ never does
        await act(client, token_for, "hw_staff", tid, "report-in")
        await act(client, token_for, "hw_staff", tid, "report-in", expect=409)

        clock.set(sh(25, 10, 33))
        await sweep(sessions, settings, clock)
        await sweep(sessions, settings, clock)  # a re-run raises nothing new

    detail = (await client.get(f"/api/v1/whistles/{whistle_id}", headers=token_for("sd"))).json()
    summons = {s["department"]: s for s in detail["summons"]}
    assert summons["HW"]["on_time"] is True and summons["HW"]["reported_by"] == "hw_staff"
    assert summons["SZ"]["missed_at"] is not None and summons["SZ"]["reported_in_at"] is None
    assert (detail["reported_in"], detail["on_time"], detail["missed"]) == (1, 1, 1)

    kinds = await event_kinds(sessions, tid)
    assert kinds == ["created", "sla_warning", "sla_overdue", "sla_overdue", "escalate",
                     "sla_overdue", "escalate", "supervised", "whistle_blown", "reported_in",
                     "report_in_missed"]
    async with sessions() as s:
        steps = (await s.execute(select(Escalation.to_level, Escalation.auto)
                                 .where(Escalation.ticket_id == tid)
                                 .order_by(Escalation.id))).all()
    assert steps == [("community", True), ("street", True)]
    async with sessions() as s:
        climbs = (await s.execute(select(TicketEvent.actor_role, TicketEvent.actor_user_id,
                                         TicketEvent.data)
                                  .where(TicketEvent.ticket_id == tid,
                                         TicketEvent.kind == "escalate")
                                  .order_by(TicketEvent.id))).all()
    # The same action as a person's 上报, by the system, saying which limit the level failed.
    assert [(role, user, data["auto"], data["to_level"]) for role, user, data in climbs] == \
        [("system", None, True, "community"), ("system", None, True, "street")]
    assert "not signed for within the response limit at grid level" in climbs[0][2]["reason"]


async def test_a_case_worked_within_its_limits_stays_with_its_handler(
        client, token_for, sessions, settings, clock, matrix_items):
    """The issue's story: a community-level item (5 working days to resolve), claimed and in
    progress at the community, is not taken away after a working day (the old budget); it
    climbs only when its resolution limit is gone, unresolved."""
    code = next(c for c, i in sorted(matrix_items.items()) if i.handling_level == "community"
                and i.time_basis == "working" and i.resolve_minutes >= 5 * 420)
    clock.set(sh(23, 9))  # Monday
    ticket = await post(client, token_for, code)
    tid = ticket["id"]
    assert ticket["level"] == "community"
    await act(client, token_for, "cd01", tid, "claim")
    await act(client, token_for, "cd01", tid, "start")
    due = (await ticket_row(sessions, tid)).resolve_due_at

    for day in (24, 25, 26, 27):  # Tuesday to Friday, every working day
        clock.set(sh(day, 16))
        await sweep(sessions, settings, clock)
        row = await ticket_row(sessions, tid)
        assert (row.level, row.status, row.assignee_id is not None) == \
            ("community", "in_progress", True), day
    assert "escalate" not in await event_kinds(sessions, tid)

    clock.set(due - timedelta(minutes=1))
    await sweep(sessions, settings, clock)
    assert (await ticket_row(sessions, tid)).level == "community"
    clock.set(due)  # unresolved at its resolution deadline: the community failed it
    await sweep(sessions, settings, clock)
    row = await ticket_row(sessions, tid)
    assert (row.level, row.status, row.assignee_id) == ("street", "dispatched", None)
    async with sessions() as s:
        reason = (await s.execute(select(Escalation.reason).where(
            Escalation.ticket_id == tid))).scalar_one()
    assert "not resolved within the resolution limit at community level" in reason


async def test_a_claim_in_time_stops_the_response_escalation(
        client, token_for, sessions, settings, clock, matrix_items, grid_item):
    item = matrix_items[grid_item]
    assert (item.response_minutes, item.resolve_minutes) == (120, 420)
    clock.set(sh(23, 9))
    tid = (await post(client, token_for, grid_item))["id"]
    clock.set(sh(23, 10, 50))
    await act(client, token_for, "gw01", tid, "claim")
    clock.set(sh(23, 11, 30))  # past the response limit, but it was signed for in time
    await sweep(sessions, settings, clock)
    row = await ticket_row(sessions, tid)
    assert (row.level, row.status) == ("grid", "claimed")
    clock.set(sh(24, 8, 59))
    await sweep(sessions, settings, clock)
    assert (await ticket_row(sessions, tid)).level == "grid"
    clock.set(sh(24, 9))  # one working day: the grid failed to resolve it
    await sweep(sessions, settings, clock)
    assert (await ticket_row(sessions, tid)).level == "community"


async def test_an_item_grace_holds_the_climb_that_long(client, token_for, sessions, settings,
                                                       clock, grid_item):
    async with item_policy(sessions, grid_item, response_grace_minutes=30):
        clock.set(sh(23, 9))
        tid = (await post(client, token_for, grid_item))["id"]
        # Put back in the queue: its clocks are recomputed from the item as it is now.
        await act(client, token_for, "gw01", tid, "claim")
        await act(client, token_for, "gw01", tid, "release")
        clock.set(sh(23, 11, 29))  # the response limit (11:00) is gone, the grace not yet
        await sweep(sessions, settings, clock)
        assert (await ticket_row(sessions, tid)).level == "grid"
        clock.set(sh(23, 11, 30))
        await sweep(sessions, settings, clock)
        assert (await ticket_row(sessions, tid)).level == "community"


async def test_manual_escalation_climbs_one_level_at_a_time_and_stops_at_the_street(
        client, token_for, grid_item):
    ticket = await post(client, token_for, grid_item)
    up = await act(client, token_for, "gw01", ticket["id"], "escalate", {"reason": "需社区协调"})
    assert up["level"] == "community"
    up = await act(client, token_for, "cd01", ticket["id"], "escalate", {"reason": "社区无法处理"})
    assert up["level"] == "street"
    refused = await act(client, token_for, "sd", ticket["id"], "escalate", {"reason": "再上报"},
                        expect=409)
    assert "street level" in refused["detail"]


async def test_each_level_is_reached_at_most_once(client, token_for, grid_item):
    ticket = await post(client, token_for, grid_item)
    await act(client, token_for, "gw01", ticket["id"], "escalate", {"reason": "需社区协调"})
    # The street sends it back down to the grid by another grid item ...
    back = await act(client, token_for, "sd", ticket["id"], "reroute",
                     {"item": grid_item, "reason": "网格可处理"})
    assert back["level"] == "grid"
    # ... and a second escalation to the community is refused by the unique key.
    refused = await act(client, token_for, "gw01", ticket["id"], "escalate",
                        {"reason": "又上报"}, expect=409)
    assert "at most once" in refused["detail"]


async def test_escalation_restarts_the_response_clock(client, token_for, sessions, clock,
                                                      matrix_items, grid_item):
    ticket = await post(client, token_for, grid_item)
    clock.advance(timedelta(minutes=30))
    await act(client, token_for, "gw01", ticket["id"], "escalate", {"reason": "需社区协调"})
    row = await ticket_row(sessions, ticket["id"])
    limit = matrix_items[grid_item].response_minutes
    assert row.response_due_at == add_working_minutes(clock.now(), limit, WorkingCalendar())
