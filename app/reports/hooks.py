"""Keeping the report rollups: a timeline hook, in the transaction of every event.

Registered with ``app.tickets.events.on_event`` when this module is imported (through
``app.hooks``), so every path that records an event — the API, the SLA sweep, commands, the
demo seeder — keeps the rollups the same way.

- ``created``: one ``INSERT ... SELECT ... ON CONFLICT`` statement adds the new ticket to
  its daily and monthly rows (on PostgreSQL; two on SQLite), so posted tickets count at
  once. Nothing else is written on the posting path: the ticket's fact row is deferred, its
  posting contribution being rebuilt from the ``created`` event when it is first needed.
- an event that can change a fact (``FACT_EVENTS``, an edit of the urgency): one insert
  marks the ticket in the report backlog (``app.reports.backlog``); the worker, or the next
  report read, recomputes its fact and moves the difference into the rollups. Claim-next
  writes that marker inside its own statement and skips this hook (``done={"reports"}``),
  so nothing here may count on seeing every event.
- every other event (notes, transfers, requests, SLA warnings ...) changes no fact.

A ticket's fact depends only on what each action writes *before* its event (the ticket's
state, the timeline, the whistle summons), never on the deadlines the SLA hook stores
after it, so the order of the hooks does not matter.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import backlog, repository
from app.reports.facts import reporting_day
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
        await backlog.mark(session, ticket_id, at)
