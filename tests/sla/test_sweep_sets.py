"""The sweep's warnings and breaches as sets (``record_events`` and ``Pipeline.run_many``):
the same rows as one event at a time, and still exactly once with sweeps running at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.db import unit_of_work
from app.live.publish import _PENDING
from app.notifications.models import Notification, NotificationOutbox
from app.sla.models import SlaAlert
from app.sla.sweep import sweep_once
from app.tickets.events import NewEvent, record_event, record_events
from app.tickets.models import Ticket, TicketEvent, ticket_number
from tests.sla.support import post, street_item_of

pytestmark = pytest.mark.usefixtures("reference")
KINDS = ("sla_warning", "sla_overdue", "supervised")  # (new tickets' reminders aggregate)


@pytest.fixture
async def retire(sessions):
    """``retire(ids)``: take these tickets out of the sweep when the test ends, so that later
    tests' sweeps (the database is shared) do not find their remaining clocks due."""
    ids: list[int] = []
    yield ids.extend
    async with sessions() as s, s.begin():
        await s.execute(update(Ticket).where(Ticket.id.in_(ids)).values(next_check_at=None))


async def _delivered(sessions, ticket_id: int, number: str) -> tuple:
    """What the events of a ticket left in the notification inbox and outbox, with the
    ticket's own number and id written out of it."""
    async with sessions() as s:
        inbox = (await s.execute(select(
            Notification.user_id, Notification.kind, Notification.title, Notification.urgent,
            Notification.body, Notification.link).where(Notification.ticket_id == ticket_id,
                                                       Notification.kind.in_(KINDS)))).all()
        outbox = (await s.execute(select(
            NotificationOutbox.channel_id, NotificationOutbox.user_id, NotificationOutbox.kind,
            NotificationOutbox.urgent).where(NotificationOutbox.ticket_id == ticket_id,
                                             NotificationOutbox.kind.in_(KINDS)))).all()
    own = f"/app/tickets/{ticket_id}"
    inbox = sorted((u, k, t, urgent, b.replace(number, "N").replace(own, "T"),
                    link.replace(own, "T")) for u, k, t, urgent, b, link in inbox)
    return inbox, sorted(outbox)


async def test_a_set_of_events_leaves_what_one_event_at_a_time_leaves(client, token_for,
                                                                       sessions, clock,
                                                                       matrix_items, retire):
    item = street_item_of(matrix_items, "CGZF")
    one, other = (await post(client, token_for, item)), (await post(client, token_for, item))
    retire([one["id"], other["id"]])
    at = clock.now() + timedelta(hours=1)
    data = [("sla_warning", {"clock": "response", "due_at": at.isoformat()}),
            ("sla_overdue", {"clock": "resolve", "due_at": at.isoformat()}),
            ("supervised", {"due_at": at.isoformat(), "auto_whistle": False})]
    live = {}
    async with unit_of_work(sessions) as s:
        for kind, payload in data:
            await record_event(s, ticket_id=one["id"], kind=kind, actor=None, at=at,
                               data=payload)
        await record_events(s, [NewEvent(ticket_id=other["id"], kind=kind, data=payload)
                                for kind, payload in data], at=at)
        pending = s.sync_session.info.get(_PENDING, (None, []))[1]
        for event in pending:
            live.setdefault(event.ticket_id, []).append((event.kind, event.department_id,
                                                         event.status))
    async with sessions() as s:
        numbers = {t.id: ticket_number(t.id, t.created_at) for t in (await s.execute(
            select(Ticket).where(Ticket.id.in_([one["id"], other["id"]])))).scalars()}
        kinds = Counter((await s.execute(select(TicketEvent.ticket_id).where(
            TicketEvent.ticket_id.in_([one["id"], other["id"]]),
            TicketEvent.kind.in_([k for k, _ in data])))).scalars())
    assert kinds == {one["id"]: 3, other["id"]: 3}
    first = await _delivered(sessions, one["id"], numbers[one["id"]])
    second = await _delivered(sessions, other["id"], numbers[other["id"]])
    assert first[0], "the events notify someone"
    assert first == second
    if s.get_bind().dialect.name == "sqlite":  # PostgreSQL without a broker NOTIFYs instead
        assert live[one["id"]] == live[other["id"]] and len(live[one["id"]]) == 3


async def test_two_sweeps_over_many_due_tickets_raise_each_warning_and_breach_once(
        client, token_for, sessions, settings, clock, matrix_items, retire):
    item = street_item_of(matrix_items, "CGZF")
    ids = [(await post(client, token_for, item))["id"] for _ in range(40)]
    retire(ids)
    async with sessions() as s:
        latest = (await s.execute(select(func.max(Ticket.response_due_at))
                                  .where(Ticket.id.in_(ids)))).scalar_one()
    clock.set(latest + timedelta(minutes=1))  # every response clock breached
    reports = await asyncio.gather(*(sweep_once(sessions=sessions, now=clock.now(), batch=7,
                                                settings=settings) for _ in range(2)))
    async with sessions() as s:
        events = Counter((await s.execute(select(TicketEvent.ticket_id, TicketEvent.kind).where(
            TicketEvent.ticket_id.in_(ids),
            TicketEvent.kind.in_(["sla_warning", "sla_overdue"])))).all())
        alerts = (await s.execute(select(func.count()).select_from(SlaAlert).where(
            SlaAlert.ticket_id.in_(ids), SlaAlert.kind.in_(
                ["response_overdue", "response_warning", "resolve_overdue",
                 "resolve_warning"])))).scalar_one()
        notified = Counter((await s.execute(select(Notification.event_id).join(
            TicketEvent, TicketEvent.id == Notification.event_id).where(
            TicketEvent.ticket_id.in_(ids)))).scalars())
    assert {tid for tid, _ in events} == set(ids)
    assert all(n == 1 for n in events.values()) and sum(events.values()) == alerts
    assert sum(r.overdue + r.warnings for r in reports) >= alerts
    assert len(notified) == alerts  # every event notified, in the sweep that raised it
