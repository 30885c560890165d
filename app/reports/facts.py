"""A ticket's contribution to the reports (its *fact*), as a pure function of the ticket
row, its timeline and its item's limits. The backlog drain, the rebuild and the bulk seeder
all call ``fact_of``; the definitions are those of ``FORMULAS.md``.

Durations are counted on the item's time basis with the street's working calendar
(``app.sla.deadlines.counted_minutes`` / ``elapsed_minutes``): working minutes for items
whose limits are working time, wall-clock minutes for calendar items; suspended time (挂起)
does not count towards the time to resolve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.clock import SHANGHAI
from app.reports.metrics import bucket_of
from app.reports.models import COUNTERS
from app.sla.deadlines import Pause, counted_minutes, elapsed_minutes
from app.sla.service import Limits
from app.sla.working_time import WorkingCalendar
from app.tickets.models import OPEN_STATUSES
from app.tickets.ratings import SATISFIED

CLOSING = frozenset({"verify_pass", "self_close"})
ESCALATIONS = frozenset({"escalate", "escalated"})
NO_DEPARTMENT = 0

Key = tuple[int, date, int, int, int, str, str, str]  # the order of ``models.KEY``


@dataclass(frozen=True, slots=True)
class TicketSnapshot:
    """The ticket columns a fact depends on (as they stand after the event)."""

    id: int
    created_at: datetime
    street_id: int
    community_id: int
    grid_id: int
    department_id: int | None
    category_code: str
    item_code: str
    source: str
    status: str
    level: str
    rating: str | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    kind: str
    to_status: str | None
    at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Fact:
    key: Key
    counters: tuple[int, ...]  # in ``COUNTERS`` order
    claim_bucket: int | None = None
    resolve_bucket: int | None = None
    # (summoned department id, reported in 0/1, on time 0/1), sorted
    summons: tuple[tuple[int, int, int], ...] = ()

    def contributions(self) -> dict[tuple[str, tuple], tuple[int, ...]]:
        """What this fact adds to each rollup row: (table, row key) → counter values."""
        street, day, community, _, department, category, _, source = self.key
        month = day.replace(day=1)
        out: dict[tuple[str, tuple], tuple[int, ...]] = {
            ("daily", self.key): self.counters,
            ("monthly", (street, month, community, department, category, source)):
                self.counters,
        }
        for measure, bucket in (("claim", self.claim_bucket), ("resolve", self.resolve_bucket)):
            if bucket is not None:
                out[("durations", (*self.key, measure, bucket))] = (1,)
                out[("monthly_durations",
                     (street, month, community, department, measure, bucket))] = (1,)
        for department_id, reported_in, on_time in self.summons:
            row = ("summons", (*self.key[:4], department_id, *self.key[5:]))
            before = out.get(row, (0, 0, 0))
            out[row] = (before[0] + 1, before[1] + reported_in, before[2] + on_time)
        return out


def reporting_day(created_at: datetime) -> date:
    """The day a ticket counts on: its posting date in Asia/Shanghai."""
    return created_at.astimezone(SHANGHAI).date()


def key_of(ticket: TicketSnapshot) -> Key:
    return (ticket.street_id, reporting_day(ticket.created_at), ticket.community_id,
            ticket.grid_id, ticket.department_id or NO_DEPARTMENT, ticket.category_code,
            ticket.item_code, ticket.source)


def pauses_in(events: Sequence[TimelineEvent]) -> tuple[Pause, ...]:
    """Suspensions from the timeline: approved at one event, resumed at a later one."""
    pauses, started = [], None
    for event in events:
        if event.kind == "approve_suspension":
            started = event.at
        elif event.kind == "resume" and started is not None:
            pauses.append(Pause(started, max(started, event.at)))
            started = None
    if started is not None:
        pauses.append(Pause(started, None))
    return tuple(pauses)


def first_claim_minutes(events: Sequence[TimelineEvent], created_at: datetime,
                        limits: Limits, cal: WorkingCalendar) -> float | None:
    """Time to the first claim (首次签收), counted from the ticket's latest entry into a
    queue before it (posting, release, re-routing, escalation, reopening)."""
    queued = created_at
    for event in events:
        if event.kind == "claim":
            return counted_minutes(queued, event.at, limits.basis, cal)
        if event.to_status == "dispatched":
            queued = event.at
    return None


def _resolution(ticket: TicketSnapshot, events: Sequence[TimelineEvent], limits: Limits,
                cal: WorkingCalendar) -> tuple[float, bool] | None:
    """Minutes from posting to the (last) resolution of a closed ticket, suspensions
    excluded, and whether that was within the limit plus approved extensions (None for a
    ticket closed without a resolution time, which the workflow never does)."""
    resolved_at = ticket.resolved_at or max(
        (e.at for e in events if e.kind in CLOSING), default=None)
    if resolved_at is None:
        return None
    minutes = elapsed_minutes(start=ticket.created_at, now=resolved_at, basis=limits.basis,
                              cal=cal, pauses=pauses_in(events))
    extension = sum(int(e.data.get("minutes") or 0) for e in events
                    if e.kind == "approve_extension")
    return minutes, minutes <= limits.resolve + extension


def fact_of(ticket: TicketSnapshot, events: Sequence[TimelineEvent], *, limits: Limits,
            cal: WorkingCalendar, summons: Sequence[tuple[int, bool, bool]] = ()) -> Fact:
    """The ticket's contribution. ``events`` in timeline order; ``summons`` as
    (summoned department id, reported in, on time). A cancelled ticket (作废 / 合并)
    counts as reported and cancelled only."""
    values = dict.fromkeys(COUNTERS, 0)
    values["reported"] = 1
    if ticket.status == "cancelled":
        values["cancelled"] = 1
        return Fact(key_of(ticket), tuple(values[c] for c in COUNTERS))
    kinds = {e.kind for e in events}
    closed = ticket.status == "closed"
    claim_minutes = first_claim_minutes(events, ticket.created_at, limits, cal)
    values.update(
        open=int(ticket.status in OPEN_STATUSES),
        suspended=int(ticket.status == "suspended"),
        closed=int(closed),
        dispatched=int(any(e.to_status == "dispatched" for e in events)),
        responded=int(claim_minutes is not None),
        responded_on_time=int(claim_minutes is not None and claim_minutes <= limits.response),
        resolved=int(bool(kinds & {"resolve", "self_close"})),
        rated=int(ticket.rating is not None),
        satisfied=int(ticket.rating in SATISFIED),
        returned=int("return" in kinds),
        reworked=int("verify_fail" in kinds),
        extended=int("approve_extension" in kinds),
        escalated_to_community=int(_escalated(events, "community")),
        escalated_to_street=int(_escalated(events, "street")),
        closed_in_grid=int(closed and ticket.level == "grid"),
        closed_in_community=int(closed and ticket.level in ("grid", "community")),
    )
    resolve_bucket = None
    resolution = _resolution(ticket, events, limits, cal) if closed else None
    if resolution is not None:
        values["closed_on_time"] = int(resolution[1])
        resolve_bucket = bucket_of(resolution[0])
    return Fact(
        key=key_of(ticket),
        counters=tuple(values[c] for c in COUNTERS),
        claim_bucket=None if claim_minutes is None else bucket_of(claim_minutes),
        resolve_bucket=resolve_bucket,
        summons=tuple(sorted((d, int(r), int(o)) for d, r, o in summons)),
    )


def _escalated(events: Sequence[TimelineEvent], to_level: str) -> bool:
    return any(e.kind in ESCALATIONS and e.data.get("to_level") == to_level for e in events)


def delta(old: Fact | None, new: Fact | None) -> dict[tuple[str, tuple], tuple[int, ...]]:
    """What to add to each rollup row to replace ``old``'s contribution by ``new``'s
    (rows whose change is zero are left out)."""
    changes: dict[tuple[str, tuple], list[int]] = {}
    for sign, fact in ((-1, old), (1, new)):
        if fact is None:
            continue
        for row, values in fact.contributions().items():
            current = changes.setdefault(row, [0] * len(values))
            for i, v in enumerate(values):
                current[i] += sign * v
    return {row: tuple(v) for row, v in changes.items() if any(v)}
