"""Keeping the report rollups exact: a timeline hook, in the transaction of every event.

Registered with ``app.tickets.events.on_event`` when this module is imported (through
``app.reports.router``), so every path that records an event — the API, the SLA sweep,
commands, the demo seeder — keeps the rollups right, and they are exact at every commit.

- ``created``: one ``INSERT ... SELECT ... ON CONFLICT`` statement adds the new ticket to
  its daily and monthly rows (on PostgreSQL; two on SQLite). Nothing else is written on the
  posting path: the ticket's fact row is deferred, its posting contribution being rebuilt
  from the ``created`` event when it is first needed.
- an event that can change a fact (``FACT_EVENTS``): recompute the ticket's fact from its
  row and timeline, and if it changed, move the difference into the rollups and store it.
- every other event (notes, transfers, requests, SLA warnings ...) changes no fact.

A ticket's fact depends only on what each action writes *before* its event (the ticket's
state, the timeline, the whistle summons), never on the deadlines the SLA hook stores
after it, so the order of the hooks does not matter.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, get_settings
from app.reports import repository
from app.reports.facts import delta, fact_of, reporting_day
from app.sla.calendars import calendar_for
from app.tickets.events import Event, on_event

FACT_EVENTS = frozenset({
    "claim", "resolve", "self_close", "verify_pass", "verify_fail", "return", "reroute",
    "cancel", "merge", "reopen", "rate", "escalate", "escalated", "approve_extension",
    "approve_suspension", "resume", "whistle_blown", "reported_in",
})


@on_event("reports")
async def keep_reports(session: AsyncSession, event: Event) -> None:
    ticket_id, kind, data, at = event.ticket_id, event.kind, event.data, event.at
    if kind == "created":
        day = reporting_day(at)
        for statement in repository.add_posted_statements(session):
            await session.execute(statement, {"tid": ticket_id, "day": day,
                                              "month": day.replace(day=1)})
        return
    urgency_edited = kind == "edit" and "urgency" in data.get("changed", {})
    if kind in FACT_EVENTS or urgency_edited:
        await refresh_ticket(session, ticket_id=ticket_id, settings=get_settings())


async def refresh_ticket(session: AsyncSession, *, ticket_id: int, settings: Settings) -> None:
    """Bring one ticket's contribution to the rollups up to date."""
    found = await repository.load_inputs(session, [ticket_id])
    if not found:
        return
    inputs = found[0]
    cal = await calendar_for(session, inputs.ticket.street_id, settings=settings)
    new = fact_of(inputs.ticket, inputs.events, limits=inputs.limits, cal=cal,
                  summons=inputs.summons)
    old = await repository.stored_fact(session, ticket_id)
    if old is None:
        old = await repository.posted_fact(session, inputs, cal=cal)
    if old == new:
        return
    await repository.add_to_rollups(session, delta(old, new))
    await repository.store_facts(session, [(ticket_id, new)])
