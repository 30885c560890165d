"""The whistle (吹哨) and report-ins (报到): the street summons departments to a ticket, each
must report in by a deadline (default 30 minutes, calendar time — the Pinggu rule).

One open whistle per ticket (a partial unique index); one report-in per summoned
department (a conditional update on ``reported_in_at IS NULL``). Summoned departments see
the ticket (``summoned_ticket_ids`` joins the department scope) and may record their part
of the joint handling; the lead department resolves. A whistle closes with its case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.errors import Conflict, Forbidden, InvalidInput
from app.jurisdiction.repository import department_ids
from app.matrix.models import MatrixItem
from app.messages import M
from app.sla.models import Whistle, WhistleSummons
from app.tickets.action_context import Context
from app.tickets.models import Ticket


def summoned_ticket_ids(department_id: int) -> Select:
    """The ids of tickets ``department_id`` was ever summoned to (for the scope clause:
    ``Ticket.id.in_(summoned_ticket_ids(dept))``); a department keeps seeing what it
    worked on after the whistle closes."""
    return select(WhistleSummons.ticket_id).where(WhistleSummons.department_id == department_id)


async def summoned_departments(session: AsyncSession, ticket_id: int) -> tuple[int, ...]:
    """The departments summoned by the ticket's open whistle (the ``summoned`` relation)."""
    rows = await session.execute(
        select(WhistleSummons.department_id)
        .join(Whistle, Whistle.id == WhistleSummons.whistle_id)
        .where(Whistle.ticket_id == ticket_id, Whistle.closed_at.is_(None)))
    return tuple(sorted(rows.scalars()))


async def open_whistle_of(session: AsyncSession, ticket_id: int) -> Whistle | None:
    return (await session.execute(select(Whistle).where(
        Whistle.ticket_id == ticket_id, Whistle.closed_at.is_(None)))).scalar_one_or_none()


def default_departments(item: MatrixItem) -> list[str]:
    """The item's co-handling departments (协办), else its primary one."""
    codes = list(item.co_departments or [])
    if not codes and item.primary_department:
        codes = [item.primary_department]
    return codes


@dataclass(frozen=True, slots=True)
class Blown:
    whistle_id: int
    departments: list[str]
    report_in_due_at: datetime

    def event_data(self, *, auto: bool) -> dict:
        return {"whistle_id": self.whistle_id, "departments": self.departments,
                "report_in_due_at": self.report_in_due_at.isoformat(), "auto": auto}


async def blow(session: AsyncSession, *, ticket: Ticket, department_ids: dict[str, int],
               minutes: int, reason: str, now: datetime, blown_by: int | None,
               auto: bool) -> Blown | None:
    """Open a whistle with its summons; None when the ticket already has an open one
    (the partial unique index decides, so two concurrent blowers cannot both win)."""
    due = now + timedelta(minutes=minutes)
    insert = insert_for(session)
    whistle_id = (await session.execute(
        insert(Whistle).values(ticket_id=ticket.id, street_id=ticket.street_id,
                               blown_by=blown_by, auto=auto, reason=reason, blown_at=now,
                               report_in_due_at=due)
        .on_conflict_do_nothing(index_elements=[Whistle.ticket_id],
                                index_where=Whistle.closed_at.is_(None))
        .returning(Whistle.id))).scalar_one_or_none()
    if whistle_id is None:
        return None
    await session.execute(insert(WhistleSummons), [
        {"whistle_id": whistle_id, "ticket_id": ticket.id, "department_id": dept_id,
         "due_at": due} for dept_id in department_ids.values()])
    return Blown(whistle_id, sorted(department_ids), due)


async def blow_whistle(ctx: Context) -> None:
    ticket, data = ctx.ticket, ctx.data
    existing = await open_whistle_of(ctx.session, ticket.id)
    if existing is not None:
        raise Conflict(M("whistle.already_open_since", id=ticket.id, whistle=existing.id,
                         at=existing.blown_at.isoformat()), whistle_id=existing.id)
    codes = list(dict.fromkeys(data.departments or []))
    if not codes:
        item = await ctx.session.get_one(MatrixItem, ticket.item_id)
        codes = default_departments(item)
        if not codes:
            raise InvalidInput.at(["body", "departments"],
                                  M("whistle.no_co_departments", code=item.code))
    found = await department_ids(ctx.session, codes)
    for index, code in enumerate(codes):
        if code not in found:
            raise InvalidInput.at(["body", "departments", index],
                                  M("error.no_department", code=code))
    blown = await blow(ctx.session, ticket=ticket, department_ids=found,
                       minutes=data.minutes or ctx.settings.whistle_report_in_minutes,
                       reason=data.reason or "", now=ctx.now, blown_by=ctx.actor.user_id,
                       auto=False)
    if blown is None:  # lost a race with another blower (or the sweep)
        raise Conflict(M("whistle.already_open", id=ticket.id))
    ctx.event_data.update(blown.event_data(auto=False))


async def report_in(ctx: Context) -> None:
    department_id = ctx.actor.department_id
    summons = (await ctx.session.execute(
        select(WhistleSummons)
        .join(Whistle, Whistle.id == WhistleSummons.whistle_id)
        .where(Whistle.ticket_id == ctx.ticket.id, Whistle.closed_at.is_(None),
               WhistleSummons.department_id == department_id))).scalar_one_or_none()
    if summons is None:
        raise Forbidden(M("whistle.not_summoned"))
    on_time = ctx.now <= summons.due_at
    reported = (await ctx.session.execute(
        update(WhistleSummons)
        .where(WhistleSummons.id == summons.id, WhistleSummons.reported_in_at.is_(None))
        .values(reported_in_at=ctx.now, reported_by=ctx.actor.user_id, on_time=on_time)
        .returning(WhistleSummons.id)
        .execution_options(synchronize_session=False))).first()
    if reported is None:
        raise Conflict(M("whistle.already_reported"))
    ctx.event_data.update(whistle_id=summons.whistle_id, department_id=department_id,
                          on_time=on_time, report_in_due_at=summons.due_at.isoformat())
