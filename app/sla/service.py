"""A ticket's deadlines: computed from the matrix item, stored, recomputed on every change
that affects them (never on read).

Three clocks run on an open ticket, all on the item's time basis (working or calendar):

- **response** (响应): from entering the current queue (派遣) to being claimed; it runs only
  while the ticket is ``dispatched`` and restarts whenever the ticket enters a queue afresh
  (posting, release, re-routing, escalation, reopening);
- **resolve** (处置): from posting to resolution; approved extensions (延期) add to it and
  approved suspensions (挂起) are not counted;
- **the ladder** (小事不出网格，大事不出社区): a grid- or community-level ticket climbs one
  level only when its level *fails a limit*: nobody has signed for it (claimed) within the
  response limit plus the item's response grace (``response_escalate_at``, part of the
  response clock: a claim stops it), or it is not resolved within the resolution limit
  (with approved extensions, suspensions not counted) plus the resolution grace, counted
  from the moment it reached the level (``escalate_due_at``). A ticket handled within its
  limits is never taken from its handler; people pass one up by hand (上报) at any time.
  ``Deadlines.ladder_failure`` is the one decision; the sweep acts on it.

The ticket row carries ``response_due_at``, ``resolve_due_at``, ``next_check_at`` (the
earliest instant at which the sweep has something to do: a warning, a breach, an
escalation) and ``sla_state``; the rest lives in ``SlaClock``. Every deadline is recomputed
from its start, so repeated changes cannot drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, case, exists, func, insert, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import constant, insert_for
from app.matrix.categories import resolve_grace, response_grace
from app.matrix.models import MatrixItem
from app.sla.deadlines import Basis, Pause, deadline, elapsed_minutes, warning_at
from app.sla.dialect import earliest
from app.sla.models import SlaClock, TicketPause, TicketRequest
from app.sla.street_calendars import calendar_for
from app.sla.working_time import WorkingCalendar
from app.tickets.models import Ticket

# States in which the ticket's clocks run (not resolved and awaiting verification, not
# suspended, not closed or cancelled).
RUNNING = frozenset({"self_handling", "dispatched", "claimed", "in_progress", "rework",
                     "returned"})
LADDER = {"grid": "community", "community": "street"}


class SlaItem(Protocol):  # read-only members: frozen snapshots fit as well as models
    @property
    def category_code(self) -> str: ...

    @property
    def time_basis(self) -> str: ...

    @property
    def response_minutes(self) -> int: ...

    @property
    def resolve_minutes(self) -> int: ...

    @property
    def urgent_response_minutes(self) -> int: ...

    @property
    def urgent_resolve_minutes(self) -> int: ...

    @property
    def response_grace_minutes(self) -> int | None: ...

    @property
    def resolve_grace_minutes(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Limits:
    basis: Basis
    response: int
    resolve: int
    response_grace: int  # past the response limit, unclaimed, before the ticket climbs
    resolve_grace: int  # past the resolution limit (at the level), before it climbs


def limits_for(item: SlaItem, urgency: str, *, graces: bool = True) -> Limits:
    """The item's limits for a ticket of this urgency (its urgent ones for an urgent
    ticket) and, unless ``graces=False``, the ladder's graces (report facts take none)."""
    urgent = urgency == "urgent"
    return Limits(
        basis=item.time_basis,  # type: ignore[arg-type]  # a str the CHECK keeps to the two
        response=item.urgent_response_minutes if urgent else item.response_minutes,
        resolve=item.urgent_resolve_minutes if urgent else item.resolve_minutes,
        response_grace=response_grace(item) if graces else 0,
        resolve_grace=resolve_grace(item) if graces else 0,
    )


@dataclass(frozen=True, slots=True)
class ClockInputs:
    """What a ticket's deadlines depend on."""

    created_at: datetime
    status: str
    level: str
    urgency: str
    response_started_at: datetime | None
    level_entered_at: datetime
    extension_minutes: int = 0
    pauses: tuple[Pause, ...] = ()  # closed pauses only: an open one keeps the stored values


@dataclass(frozen=True, slots=True)
class Deadlines:
    response_started_at: datetime | None
    response_due_at: datetime | None
    response_warn_at: datetime | None
    resolve_due_at: datetime | None
    resolve_warn_at: datetime | None
    level: str
    level_entered_at: datetime
    escalate_due_at: datetime | None  # the level fails its resolution limit (+ grace)
    running: bool
    response_escalate_at: datetime | None = None  # unclaimed past response limit (+ grace)

    def instants(self) -> list[datetime]:
        return [i for i in (self.response_warn_at, self.response_due_at, self.resolve_warn_at,
                            self.resolve_due_at, self.escalate_due_at,
                            self.response_escalate_at) if i is not None]

    def ladder_failure(self, now: datetime) -> str | None:
        """The limit the ticket's level has failed at ``now`` — ``"response"`` (nobody
        signed for it in time) or ``"resolve"`` (not resolved in time) — or None while it
        is within both: the only moments the sweep takes a ticket one level up."""
        if not self.running or self.level not in LADDER:
            return None
        if self.response_escalate_at is not None and self.response_escalate_at <= now:
            return "response"
        if self.escalate_due_at is not None and self.escalate_due_at <= now:
            return "resolve"
        return None

    def next_check(self, *, after: datetime | None = None) -> datetime | None:
        """The earliest instant the sweep must look at the ticket (strictly after ``after``
        when given). Without ``after`` past instants count too, so that a change which
        leaves something already due is swept at once (a repeat visit is a no-op)."""
        if not self.running:
            return None
        due = [i for i in self.instants() if after is None or i > after]
        return min(due, default=None)

    def state(self, now: datetime) -> str:
        """on_track / warning (即将超时) / overdue (超时), the worst of the two clocks."""
        if any(d is not None and d <= now for d in (self.response_due_at, self.resolve_due_at)):
            return "overdue"
        if any(w is not None and w <= now for w in (self.response_warn_at, self.resolve_warn_at)):
            return "warning"
        return "on_track"

    def ticket_values(self, now: datetime) -> dict[str, Any]:
        return {"response_due_at": self.response_due_at, "resolve_due_at": self.resolve_due_at,
                "next_check_at": self.next_check(), "sla_state": self.state(now),
                "resolve_remaining_minutes": None}  # only while paused

    def clock_values(self) -> dict[str, Any]:
        return {"response_started_at": self.response_started_at,
                "response_warn_at": self.response_warn_at,
                "resolve_warn_at": self.resolve_warn_at, "level": self.level,
                "level_entered_at": self.level_entered_at,
                "escalate_due_at": self.escalate_due_at,
                "response_escalate_at": self.response_escalate_at}


def compute(inputs: ClockInputs, *, item: SlaItem, cal: WorkingCalendar,
            warning_share: float) -> Deadlines:
    """Every deadline of a ticket from its starts, its item and its calendar. Pure."""
    limits = limits_for(item, inputs.urgency)
    basis, pauses = limits.basis, inputs.pauses

    def due_and_warning(start: datetime, minutes: float, *, paused: bool = True):
        used = pauses if paused else ()
        due = deadline(start=start, limit_minutes=minutes, basis=basis, cal=cal, pauses=used)
        if due is None:
            return None, None
        warn = warning_at(start=start, due=due, warning_share=warning_share, basis=basis,
                          cal=cal, pauses=used)
        return due, warn

    response_due = response_warn = response_escalate = escalate_due = None
    if inputs.status == "dispatched" and inputs.response_started_at is not None:
        # Suspension is only possible once claimed, so no pause falls in a response clock.
        response_due, response_warn = due_and_warning(
            inputs.response_started_at, limits.response, paused=False)
    resolve_minutes = limits.resolve + inputs.extension_minutes
    resolve_due, resolve_warn = due_and_warning(inputs.created_at, resolve_minutes)
    if inputs.level in LADDER:  # when the level fails a limit, and the ticket climbs
        if response_due is not None:
            response_escalate = deadline(
                start=inputs.response_started_at,  # type: ignore[arg-type]  # set with response_due
                limit_minutes=limits.response + limits.response_grace, basis=basis, cal=cal)
        escalate_due = deadline(start=inputs.level_entered_at,
                                limit_minutes=resolve_minutes + limits.resolve_grace,
                                basis=basis, cal=cal, pauses=pauses)
    return Deadlines(
        response_started_at=inputs.response_started_at if response_due else None,
        response_due_at=response_due, response_warn_at=response_warn,
        resolve_due_at=resolve_due, resolve_warn_at=resolve_warn, level=inputs.level,
        level_entered_at=inputs.level_entered_at, escalate_due_at=escalate_due,
        running=inputs.status in RUNNING, response_escalate_at=response_escalate)


def remaining_minutes(inputs: ClockInputs, *, item: SlaItem, cal: WorkingCalendar,
                      paused_at: datetime) -> float:
    """Counted minutes of the resolution limit (with extensions) left when the clock stopped
    at ``paused_at``; negative: it was overdue by that much. Pure."""
    limits = limits_for(item, inputs.urgency)
    used = elapsed_minutes(start=inputs.created_at, now=paused_at, basis=limits.basis, cal=cal,
                           pauses=inputs.pauses)
    return limits.resolve + inputs.extension_minutes - used


def paused_values(remaining: float) -> dict[str, Any]:
    """The ticket's SLA columns while its clock is stopped (挂起): ``paused``, no deadline
    (a due instant is unknown until it resumes, and a stale one must not look live), the
    whole minutes left, and nothing for the sweep to check."""
    return {"response_due_at": None, "resolve_due_at": None, "next_check_at": None,
            "sla_state": "paused", "resolve_remaining_minutes": math.floor(remaining)}


def initial_deadlines(*, item: SlaItem, urgency: str, level: str, status: str, now: datetime,
                      cal: WorkingCalendar, warning_share: float) -> Deadlines:
    """The deadlines of a ticket posted at ``now`` (its ``ticket_values(now)`` go into the
    ticket row, its ``clock_values()`` into ``SlaClock``)."""
    inputs = ClockInputs(created_at=now, status=status, level=level, urgency=urgency,
                         response_started_at=now, level_entered_at=now)
    return compute(inputs, item=item, cal=cal, warning_share=warning_share)


# --- loading and storing ---------------------------------------------------------------------

_INSERT_CLOCK = insert(SlaClock.__table__)


async def deadlines_for_posting(session: AsyncSession, *, street_id: int, item: SlaItem,
                                urgency: str, level: str, status: str,
                                now: datetime, settings: Settings) -> Deadlines:
    """The deadlines of a ticket about to be posted at ``now``, computed before its insert so
    that they go into the row (posting is a hot path: this saves the deadlines step's
    reload and rewrite of the new ticket)."""
    cal = await calendar_for(session, street_id, settings=settings)
    return initial_deadlines(item=item, urgency=urgency, level=level, status=status, now=now,
                             cal=cal, warning_share=settings.warning_share)


async def insert_clock(session: AsyncSession, *, ticket_id: int, deadlines: Deadlines) -> None:
    """The clock row of a ticket just posted with ``deadlines_for_posting``."""
    await session.execute(_INSERT_CLOCK, {"ticket_id": ticket_id, **deadlines.clock_values()})


# --- recomputing after a change --------------------------------------------------------------


async def pauses_of(session: AsyncSession, ticket_id: int) -> tuple[Pause, ...]:
    rows = (await session.execute(
        select(TicketPause.started_at, TicketPause.ended_at)
        .where(TicketPause.ticket_id == ticket_id, TicketPause.ended_at.is_not(None))
    )).all()
    return tuple(Pause(start, end) for start, end in rows)


def _approved_extension_minutes(ticket_id):
    return (select(func.coalesce(func.sum(TicketRequest.minutes), 0))
            .where(TicketRequest.ticket_id == ticket_id, TicketRequest.kind == "extension",
                   TicketRequest.status == "approved"))


async def extension_minutes(session: AsyncSession, ticket_id: int) -> int:
    return int((await session.execute(_approved_extension_minutes(ticket_id))).scalar_one())


# Everything a recomputation reads, in one round trip (it runs after most actions): the
# ticket, its clock and item, its approved extensions, and whether it has closed pauses
# (rare; they are read separately only then).
_REFRESH_INPUTS = (
    select(Ticket, SlaClock, MatrixItem,
           _approved_extension_minutes(Ticket.id).scalar_subquery(),
           exists().where(TicketPause.ticket_id == Ticket.id, TicketPause.ended_at.is_not(None)))
    .join(MatrixItem, MatrixItem.id == Ticket.item_id)
    .outerjoin(SlaClock, SlaClock.ticket_id == Ticket.id)
    .where(Ticket.id == bindparam("ticket_id"))
    .execution_options(populate_existing=True)
)


async def refresh(session: AsyncSession, *, ticket_id: int, now: datetime, settings: Settings,
                  restart_response: bool = False) -> Deadlines | None:
    """Recompute and store the deadlines of a ticket after a change (in the change's
    transaction). ``restart_response``: the ticket has just entered a queue afresh. A new
    level restarts the level's count towards the ladder. Returns None for a ticket that does
    not exist."""
    row = (await session.execute(_REFRESH_INPUTS, {"ticket_id": ticket_id})).first()
    if row is None:
        return None
    ticket, clock, item, extension, paused = row
    cal = await calendar_for(session, ticket.street_id, settings=settings)
    new_level = clock is None or clock.level != ticket.level
    inputs = ClockInputs(
        created_at=ticket.created_at, status=ticket.status, level=ticket.level,
        urgency=ticket.urgency,
        response_started_at=(now if restart_response or clock is None
                             else clock.response_started_at),
        level_entered_at=now if new_level else clock.level_entered_at,
        extension_minutes=int(extension),
        pauses=await pauses_of(session, ticket_id) if paused else (),
    )
    if clock is None:  # a new ticket: its clocks start when it was posted
        inputs = replace(inputs, response_started_at=ticket.created_at,
                         level_entered_at=ticket.created_at)
    result = compute(inputs, item=item, cal=cal, warning_share=settings.warning_share)
    if ticket.status == "suspended":
        # The clock stands still: no live deadline, the time left, nothing to check until
        # resumed (the clock row keeps its starts; resuming recomputes from them).
        paused_at = (await session.execute(select(TicketPause.started_at).where(
            TicketPause.ticket_id == ticket_id, TicketPause.ended_at.is_(None)))).scalar()
        remaining = remaining_minutes(inputs, item=item, cal=cal, paused_at=paused_at or now)
        await session.execute(update(Ticket).where(Ticket.id == ticket_id)
                              .values(**paused_values(remaining))
                              .execution_options(synchronize_session=False))
        return result
    await store(session, ticket_id=ticket_id, deadlines=result, now=now)
    return result


async def store(session: AsyncSession, *, ticket_id: int, deadlines: Deadlines, now: datetime,
                next_check_at: datetime | None | bool = True) -> None:
    """Write the ticket's SLA columns and its clock row. ``next_check_at``: True to derive
    it (past instants included), or the value to store."""
    values = deadlines.ticket_values(now)
    if next_check_at is not True:
        values["next_check_at"] = next_check_at
    await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values)
                          .execution_options(synchronize_session=False))
    clock = deadlines.clock_values()
    insert = insert_for(session)
    await session.execute(
        insert(SlaClock).values(ticket_id=ticket_id, **clock)
        .on_conflict_do_update(index_elements=[SlaClock.ticket_id], set_=clock))


# --- a claim stops the response clock ----------------------------------------------------------
# Claiming is the hottest action: instead of the hook's reload and recompute, the claim's own
# UPDATE stops the response clock (with its escalation instant: a ticket signed for in time
# can only climb by failing its resolution limit). A claim changes no other input of the
# deadlines (status stays running, level, urgency, extensions and pauses stay), so the
# resolve and escalation instants already stored stand — exactly what ``compute`` would
# return, the response clock gone (and, like every deadline, they are not moved by a
# calendar edited since they were computed). A ticket without a clock row (bulk-generated)
# is checked at its resolve deadline.


def _clock_of_ticket(*columns):
    return select(*columns).where(SlaClock.ticket_id == Ticket.id).scalar_subquery()


def response_stopped_values(now) -> dict[str, Any]:
    """The ticket's SLA columns once claimed, as expressions for its UPDATE (``now`` a value
    or a bind parameter): no response deadline, the next check at the earliest of the
    stored resolve warning, resolve deadline and escalation, the state by the resolve
    clock alone."""
    resolve_warn = _clock_of_ticket(SlaClock.resolve_warn_at)
    next_check = _clock_of_ticket(earliest(SlaClock.resolve_warn_at, Ticket.resolve_due_at,
                                           SlaClock.escalate_due_at))
    return {
        "response_due_at": null(),
        "next_check_at": func.coalesce(next_check, Ticket.resolve_due_at),
        "sla_state": case((Ticket.resolve_due_at <= now, constant("overdue")),
                          (resolve_warn <= now, constant("warning")), else_=constant("on_track")),
    }


# The clock row's half of a claim (the ticket's is ``response_stopped_values``).
CLOCK_STOPPED_VALUES = {"response_started_at": null(), "response_warn_at": null(),
                        "response_escalate_at": null()}
STOP_RESPONSE_CLOCK = (
    update(SlaClock.__table__)
    .where(SlaClock.__table__.c.ticket_id == bindparam("stopped_ticket_id"))
    .values(CLOCK_STOPPED_VALUES)
)


async def stop_response_clock(session: AsyncSession, ticket_id: int) -> None:
    """The clock row's half of a claim (the ticket's is ``response_stopped_values``)."""
    await session.execute(STOP_RESPONSE_CLOCK, {"stopped_ticket_id": ticket_id})
