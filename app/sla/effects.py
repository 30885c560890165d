"""What the SLA actions of the workflow table do beyond the state change: escalation (上报),
extension (延期) and suspension (挂起) requests and decisions, resumption. The whistle's
effects are in ``app.whistle.service``; the table names each action's effect and
``app.workflow.actions.EFFECTS`` maps the names to these functions. Deadlines are
recomputed afterwards by the after-event pipeline's deadlines step (``app.sla.deadlines_step``), the
same way for every action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.errors import Conflict
from app.jurisdiction.repository import department_id as department_id_of
from app.matrix.models import MatrixItem
from app.messages import M
from app.sla.models import Escalation, TicketPause, TicketRequest
from app.sla.service import LADDER
from app.tickets.action_context import Context
from app.tickets.models import Ticket


async def climb(session: AsyncSession, *, ticket: Ticket, now: datetime, auto: bool,
                reason: str, actor_user_id: int | None = None,
                actor_api_key_id: int | None = None) -> dict[str, Any] | None:
    """Record one step up the ladder and return the ticket columns that move it there
    (the community's queue, or the street's primary department); None when the ticket has
    already reached that level once (the unique key refuses it)."""
    to_level = LADDER[ticket.level]
    reached = (await session.execute(
        insert_for(session)(Escalation)
        .values(ticket_id=ticket.id, from_level=ticket.level, to_level=to_level, auto=auto,
                reason=reason, actor_user_id=actor_user_id, actor_api_key_id=actor_api_key_id,
                created_at=now)
        .on_conflict_do_nothing(index_elements=[Escalation.ticket_id, Escalation.to_level])
        .returning(Escalation.id))).scalar_one_or_none()
    if reached is None:
        return None
    department_id = department_code = None
    # A post awaiting triage (待分拨) climbs into the street's triage queue: its item is a
    # guess, so it goes to no department until a street dispatcher routes it.
    if to_level == "street" and not ticket.awaiting_triage:
        department_code = (await session.execute(select(MatrixItem.primary_department).where(
            MatrixItem.id == ticket.item_id))).scalar_one_or_none()
        if department_code:
            department_id = await department_id_of(session, department_code)
    return {"level": to_level, "department_id": department_id, "assignee_id": None,
            "claimed_at": None, "_event": {"from_level": ticket.level, "to_level": to_level,
                                           "department": department_code, "auto": auto}}


async def escalate(ctx: Context) -> None:
    ticket = ctx.ticket
    if ticket.level not in LADDER:
        raise Conflict(M("sla.already_street", id=ticket.id))
    # By hand (上报), or by the system when the level failed its limits (the sweep).
    auto = ctx.actor.kind == "system"
    values = await climb(ctx.session, ticket=ticket, now=ctx.now, auto=auto,
                         reason=ctx.data.reason or "", actor_user_id=ctx.actor.user_id,
                         actor_api_key_id=ctx.actor.api_key_id)
    if values is None:
        raise Conflict(M("sla.already_escalated", id=ticket.id,
                         level=M(f"level.{LADDER[ticket.level]}")))
    ctx.event_data.update(values.pop("_event"))
    ctx.values.update(values)


# --- extension (延期) and suspension (挂起) requests ------------------------------------------


async def _request(ctx: Context, kind: str, minutes: int | None) -> None:
    request_id = (await ctx.session.execute(
        insert_for(ctx.session)(TicketRequest)
        .values(ticket_id=ctx.ticket.id, kind=kind, status="pending", minutes=minutes,
                reason=ctx.data.reason or "", requested_by=ctx.actor.user_id,
                requested_at=ctx.now)
        .on_conflict_do_nothing(index_elements=[TicketRequest.ticket_id, TicketRequest.kind],
                                # a literal: a bound parameter cannot match the partial index
                                index_where=text("status = 'pending'"))
        .returning(TicketRequest.id))).scalar_one_or_none()
    if request_id is None:
        raise Conflict(M("sla.request_pending", id=ctx.ticket.id, kind=M(f"request.{kind}")))
    ctx.event_data.update(request_id=request_id, **({"minutes": minutes} if minutes else {}))


async def _decide(ctx: Context, kind: str, status: str) -> TicketRequest:
    decided = (await ctx.session.execute(
        update(TicketRequest)
        .where(TicketRequest.ticket_id == ctx.ticket.id, TicketRequest.kind == kind,
               TicketRequest.status == "pending")
        .values(status=status, decided_by=ctx.actor.user_id, decided_at=ctx.now,
                note=ctx.data.note)
        .returning(TicketRequest)
        .execution_options(synchronize_session=False))).scalar_one_or_none()
    if decided is None:
        raise Conflict(M("sla.no_request_pending", id=ctx.ticket.id, kind=M(f"request.{kind}")))
    ctx.event_data.update(request_id=decided.id, **({"note": ctx.data.note}
                                                     if ctx.data.note else {}))
    return decided


async def request_extension(ctx: Context) -> None:
    await _request(ctx, "extension", ctx.data.minutes)


async def approve_extension(ctx: Context) -> None:
    request = await _decide(ctx, "extension", "approved")
    due = ctx.ticket.resolve_due_at
    ctx.event_data.update(minutes=request.minutes,
                          resolve_due_before=due.isoformat() if due else None)


async def reject_extension(ctx: Context) -> None:
    await _decide(ctx, "extension", "rejected")


async def request_suspension(ctx: Context) -> None:
    await _request(ctx, "suspension", None)


async def approve_suspension(ctx: Context) -> None:
    await _decide(ctx, "suspension", "approved")
    ctx.session.add(TicketPause(ticket_id=ctx.ticket.id, started_at=ctx.now))
    await ctx.session.flush()


async def reject_suspension(ctx: Context) -> None:
    await _decide(ctx, "suspension", "rejected")


async def resume(ctx: Context) -> None:
    started = (await ctx.session.execute(
        update(TicketPause)
        .where(TicketPause.ticket_id == ctx.ticket.id, TicketPause.ended_at.is_(None))
        .values(ended_at=ctx.now)
        .returning(TicketPause.started_at)
        .execution_options(synchronize_session=False))).scalar_one_or_none()
    if started is not None:
        ctx.event_data.update(paused_since=started.isoformat(),
                              paused_minutes=round((ctx.now - started).total_seconds() / 60))
