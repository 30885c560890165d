"""Keeping the report rollups: the after-event pipeline's ``report_facts`` step, in the
transaction of every event. What an event does to the facts is the event catalogue's
``report`` column (``app.tickets.catalogue``):

- ``posted`` (``created``): one ``INSERT ... SELECT ... ON CONFLICT`` statement adds the new
  ticket to its daily and monthly rows (on PostgreSQL; two on SQLite), so posted tickets
  count at once. Nothing else is written on the posting path: the ticket's fact row is
  deferred, its posting contribution being rebuilt from the ``created`` event when it is
  first needed.
- ``changed``: one insert marks the ticket in the report backlog (``app.reports.backlog``);
  the worker, or the next report read, recomputes its fact and moves the difference into
  the rollups. Claim-next and posting write their part inside their own statement and run
  only the pipeline's delivery steps, so nothing here may count on seeing every event.
- ``unchanged`` (notes, transfers, requests, SLA warnings ...): nothing.

A ticket's fact depends only on what each action writes *before* its event (the ticket's
state, the timeline, the whistle summons), never on the deadlines the step before this one
stores.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import backlog, repository
from app.reports.facts import reporting_day
from app.tickets.catalogue import ReportFacts, declared
from app.tickets.events import Event


async def keep_report_facts(session: AsyncSession, event: Event) -> None:
    kind = declared(event.kind)
    if kind.report is ReportFacts.posted:
        day = reporting_day(event.at)
        for statement in repository.add_posted_statements(session):
            await session.execute(statement, {"tid": event.ticket_id, "day": day,
                                              "month": day.replace(day=1)})
    elif kind.moves_report_facts(event.data):
        await backlog.mark(session, event.ticket_id, event.at)


async def keep_report_facts_of(session: AsyncSession, events: Sequence[Event]) -> None:
    """The step over a set of events: posted tickets one by one (a rollup upsert each), the
    changed ones marked in the backlog with one statement."""
    changed: dict[int, Event] = {}
    for event in events:
        kind = declared(event.kind)
        if kind.report is ReportFacts.posted:
            await keep_report_facts(session, event)
        elif kind.moves_report_facts(event.data):
            changed.setdefault(event.ticket_id, event)
    if changed:
        await backlog.mark_many(session, [(e.ticket_id, e.at) for e in changed.values()])
