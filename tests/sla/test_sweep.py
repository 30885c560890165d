"""The sweep: exactly once, however many run at once; a re-run does nothing new; its work
follows the due tickets only."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.sla.models import Escalation, SlaAlert
from app.sla.sweep import sweep_once
from app.tickets.models import Ticket, TicketEvent
from tests.sla.support import grid_item_of, item_policy, post, street_item_of, sweep, ticket_row

pytestmark = pytest.mark.usefixtures("reference")

SWEEP_KINDS = ("sla_warning", "sla_overdue", "escalate", "supervised", "whistle_blown",
               "report_in_missed")


async def _events(sessions, ticket_ids) -> Counter:
    async with sessions() as s:
        rows = await s.execute(select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.data)
                               .where(TicketEvent.ticket_id.in_(ticket_ids),
                                      TicketEvent.kind.in_(SWEEP_KINDS)))
        # Two events with the same ticket, kind and data would be the same thing raised twice.
        return Counter((tid, kind, json.dumps(data, sort_keys=True)) for tid, kind, data in rows)


async def test_a_second_sweep_at_the_same_instant_does_nothing(client, token_for, sessions,
                                                               settings, clock, matrix_items):
    ticket = await post(client, token_for, grid_item_of(matrix_items, primary="CGZF", co="HW"))
    clock.advance(timedelta(days=3))
    first = await sweep(sessions, settings, clock)
    assert first.escalations >= 1 and first.overdue >= 1
    before = await _events(sessions, [ticket["id"]])
    second = await sweep(sessions, settings, clock)
    assert (second.tickets, second.warnings, second.overdue, second.escalations) == (0, 0, 0, 0)
    assert await _events(sessions, [ticket["id"]]) == before


async def test_a_ticket_is_left_alone_until_its_next_check(client, token_for, sessions,
                                                          settings, matrix_items):
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    row = await ticket_row(sessions, ticket["id"])
    await sweep_once(sessions=sessions, now=row.next_check_at - timedelta(seconds=1),
                     settings=settings)
    after = await ticket_row(sessions, ticket["id"])
    assert (after.next_check_at, after.sla_state) == (row.next_check_at, "on_track")
    assert not await _events(sessions, [ticket["id"]])


async def test_a_stopped_ticket_leaves_the_sweep(client, token_for, sessions, settings, clock,
                                                 matrix_items):
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    r = await client.post(f"/api/v1/tickets/{ticket['id']}/cancel", json={"reason": "重复"},
                          headers=token_for("sd"))
    assert r.status_code == 200, r.text
    assert (await ticket_row(sessions, ticket["id"])).next_check_at is None


async def test_concurrent_sweeps_raise_everything_exactly_once(client, token_for, sessions,
                                                               settings, clock, matrix_items):
    grid_item = grid_item_of(matrix_items, primary="CGZF", co="HW")
    street_item = street_item_of(matrix_items, "CGZF")
    async with item_policy(sessions, street_item, auto_whistle=True, co_departments=["HW"]):
        grid_ids = [(await post(client, token_for, grid_item))["id"] for _ in range(12)]
        street_ids = [(await post(client, token_for, street_item))["id"] for _ in range(12)]
        ids = grid_ids + street_ids
        async with sessions() as s:
            latest = (await s.execute(select(func.max(Ticket.resolve_due_at))
                                      .where(Ticket.id.in_(ids)))).scalar_one()
        clock.set(latest + timedelta(days=5))

        reports = await asyncio.gather(
            *(sweep_once(sessions=sessions, now=clock.now(), batch=5, settings=settings)
              for _ in range(2)))

        # A sweep climbs one level: the community's budget starts when the ticket got there.
        clock.advance(timedelta(days=3))
        reports += await asyncio.gather(
            *(sweep_once(sessions=sessions, now=clock.now(), batch=5, settings=settings)
              for _ in range(2)))

    events = await _events(sessions, ids)
    assert all(count == 1 for count in events.values()), events
    kinds = Counter(kind for _, kind, _ in events)
    assert kinds["escalate"] == 2 * len(grid_ids)  # grid → community → street, once each
    assert kinds["whistle_blown"] == len(street_ids)
    assert kinds["supervised"] == len(ids)
    assert kinds["report_in_missed"] == len(street_ids)
    # (The reports may count other tests' tickets as well: the database is shared.)
    assert sum(r.escalations for r in reports) >= kinds["escalate"]
    assert sum(r.whistles for r in reports) >= kinds["whistle_blown"]
    async with sessions() as s:
        alerts = (await s.execute(select(func.count()).select_from(SlaAlert)
                                  .where(SlaAlert.ticket_id.in_(ids)))).scalar_one()
        steps = (await s.execute(select(func.count()).select_from(Escalation)
                                 .where(Escalation.ticket_id.in_(ids)))).scalar_one()
    assert alerts == kinds["sla_warning"] + kinds["sla_overdue"] + kinds["supervised"]
    assert steps == kinds["escalate"]
