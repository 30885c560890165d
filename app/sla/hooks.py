"""Keeping deadlines current: a timeline hook that recomputes them after every event that
affects them, in the same transaction as the change.

Registered with ``app.tickets.events.on_event`` when this module is imported (through
``app.sla.router``), so every path that records an event — the API, the sweep, commands,
the demo seeder — keeps the stored deadlines right without calling anything itself.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.sla import service
from app.sla.models import Whistle
from app.tickets.events import Event, on_event

# The ticket enters a queue afresh: its response clock starts again. ("created" is not
# here: posting stores the new ticket's deadlines with its row, see
# ``service.deadlines_for_posting``.)
RESTARTS_RESPONSE = frozenset({"release", "reroute", "reopen", "escalate"})
# Events after which some deadline or the next check may differ (the others — notes,
# transfers, ratings, the sweep's own alerts — change none). A claim is not here: its own
# UPDATE stops the response clock (``service.response_stopped_values``).
AFFECTS_DEADLINES = RESTARTS_RESPONSE | frozenset({
    "start", "resolve", "self_close", "verify_pass", "verify_fail", "return",
    "cancel", "merge", "approve_extension", "approve_suspension", "resume",
})
# The case is over: an open whistle on it ends with it.
ENDS_CASE = frozenset({"self_close", "verify_pass", "cancel", "merge"})

@on_event("deadlines")
async def keep_deadlines(session: AsyncSession, event: Event) -> None:
    ticket_id, kind, data, at = event.ticket_id, event.kind, event.data, event.at
    # Hooks get no settings: the process's own (the SLA share and zone are deployment-wide).
    urgency_edited = kind == "edit" and "urgency" in data.get("changed", {})
    if kind not in AFFECTS_DEADLINES and not urgency_edited:
        return
    await service.refresh(session, ticket_id=ticket_id, now=at, settings=get_settings(),
                          restart_response=kind in RESTARTS_RESPONSE)
    if kind in ENDS_CASE:
        await session.execute(update(Whistle)
                              .where(Whistle.ticket_id == ticket_id, Whistle.closed_at.is_(None))
                              .values(closed_at=at)
                              .execution_options(synchronize_session=False))
