"""The reports computed the slow, obvious way: every ticket, event and summons row loaded
into Python, each metric counted straight from FORMULAS.md. Written apart from
``app.reports.facts`` on purpose; only the calendar maths is shared."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.clock import SHANGHAI
from app.jurisdiction.models import Department, Jurisdiction
from app.matrix.models import MatrixItem
from app.sla.models import WhistleSummons
from app.sla.working_time import WorkingCalendar, working_minutes_between
from app.tickets.models import Ticket, TicketEvent

CAL = WorkingCalendar()  # the demo street keeps the default office hours
RUNNING = {"self_handling", "dispatched", "claimed", "in_progress", "rework", "returned"}


def bounds() -> list[int]:
    """The documented buckets: every 5 min to 60, 30 to 420, 105 to 2100, 420 to 8400,
    2100 to 42000."""
    out, low = [], 0
    for top, step in ((60, 5), (420, 30), (2100, 105), (8400, 420), (42000, 2100)):
        value = low + step
        while value <= top:
            out.append(value)
            value += step
        low = top
    return out


BOUNDS = bounds()


def bucket_value(minutes: float) -> int:
    for bound in BOUNDS:
        if minutes <= bound:
            return bound
    return BOUNDS[-1]


@dataclass
class World:
    tickets: list[Ticket]
    events: dict[int, list[TicketEvent]]
    summons: dict[int, list[WhistleSummons]]
    items: dict[int, MatrixItem]
    nodes: dict[int, Jurisdiction]
    departments: dict[int, Department]


async def load_world(sessions) -> World:
    async with sessions() as s:
        tickets = list((await s.execute(select(Ticket))).scalars())
        events = defaultdict(list)
        for e in (await s.execute(select(TicketEvent).order_by(TicketEvent.id))).scalars():
            events[e.ticket_id].append(e)
        summons = defaultdict(list)
        for w in (await s.execute(select(WhistleSummons))).scalars():
            summons[w.ticket_id].append(w)
        items = {i.id: i for i in (await s.execute(select(MatrixItem))).scalars()}
        nodes = {n.id: n for n in (await s.execute(select(Jurisdiction))).scalars()}
        departments = {d.id: d for d in (await s.execute(select(Department))).scalars()}
    return World(tickets, events, summons, items, nodes, departments)


def minutes(start: datetime, end: datetime, basis: str) -> float:
    if basis == "working":
        return working_minutes_between(start, end, CAL)
    return max((end - start).total_seconds() / 60, 0.0)


def paused_minutes(events: list[TicketEvent], start: datetime, end: datetime,
                   basis: str) -> float:
    total, since = 0.0, None
    for e in events:
        if e.kind == "approve_suspension":
            since = e.created_at
        elif e.kind == "resume" and since is not None:
            total += minutes(max(since, start), min(e.created_at, end), basis)
            since = None
    return total


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    claim: list[float] = field(default_factory=list)
    resolve: list[float] = field(default_factory=list)


def count_ticket(t: Ticket, world: World, tally: Tally, now: datetime) -> None:
    c = tally.counts
    c["reported"] += 1
    if t.status == "cancelled":
        c["cancelled"] += 1
        return
    events = world.events[t.id]
    kinds = [e.kind for e in events]
    item = world.items[t.item_id]
    urgent = t.urgency == "urgent"
    response_limit = item.urgent_response_minutes if urgent else item.response_minutes
    resolve_limit = item.urgent_resolve_minutes if urgent else item.resolve_minutes
    c["open"] += t.status not in ("closed", "cancelled")
    c["closed"] += t.status == "closed"
    c["suspended"] += t.status == "suspended"
    c["dispatched"] += any(e.to_status == "dispatched" for e in events)
    claims = [i for i, e in enumerate(events) if e.kind == "claim"]
    if claims:
        first = claims[0]
        queued = [e.created_at for e in events[:first] if e.to_status == "dispatched"]
        waited = minutes(queued[-1] if queued else t.created_at, events[first].created_at,
                         item.time_basis)
        c["responded"] += 1
        c["responded_on_time"] += waited <= response_limit
        tally.claim.append(waited)
    c["resolved"] += "resolve" in kinds or "self_close" in kinds
    c["rated"] += t.rating is not None
    c["satisfied"] += t.rating in ("满意", "基本满意")
    c["returned"] += "return" in kinds
    c["reworked"] += "verify_fail" in kinds
    c["extended"] += "approve_extension" in kinds
    for level in ("community", "street"):
        c[f"escalated_to_{level}"] += any(
            e.kind in ("escalate", "escalated") and e.data.get("to_level") == level
            for e in events)
    if t.status == "closed":
        c["closed_in_grid"] += t.level == "grid"
        c["closed_in_community"] += t.level in ("grid", "community")
        took = (minutes(t.created_at, t.resolved_at, item.time_basis)
                - paused_minutes(events, t.created_at, t.resolved_at, item.time_basis))
        extension = sum(e.data.get("minutes", 0) for e in events
                        if e.kind == "approve_extension")
        c["closed_on_time"] += took <= resolve_limit + extension
        tally.resolve.append(took)
    late = [d for d in (t.response_due_at, t.resolve_due_at) if d is not None and d <= now]
    c["overdue_now"] += t.status in RUNNING and bool(late)


def rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def nearest_rank(values: list[float], q: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return bucket_value(ordered[max(1, math.ceil(q * len(ordered))) - 1])


def metrics(tally: Tally) -> dict:
    c = dict(tally.counts)
    for name in ("reported", "cancelled", "open", "closed", "suspended", "overdue_now",
                 "dispatched", "responded", "responded_on_time", "resolved", "closed_on_time",
                 "rated", "satisfied", "returned", "reworked", "extended",
                 "escalated_to_community", "escalated_to_street", "closed_in_grid",
                 "closed_in_community", "summoned", "reported_in", "reported_in_on_time"):
        c.setdefault(name, 0)
    c["valid"] = c["reported"] - c["cancelled"]
    due = c["valid"] - c["suspended"]
    c.update(
        response_rate=rate(c["responded"], c["dispatched"]),
        on_time_response_rate=rate(c["responded_on_time"], c["dispatched"]),
        resolution_rate=rate(c["closed"], due),
        on_time_resolution_rate=rate(c["closed_on_time"], due),
        satisfaction_rate=rate(c["satisfied"], c["rated"]),
        return_rate=rate(c["returned"], c["dispatched"]),
        rework_rate=rate(c["reworked"], c["resolved"]),
        extension_rate=rate(c["extended"], c["valid"]),
        escalation_rate_community=rate(c["escalated_to_community"], c["valid"]),
        escalation_rate_street=rate(c["escalated_to_street"], c["valid"]),
        closed_in_grid_share=rate(c["closed_in_grid"], c["closed"]),
        closed_in_community_share=rate(c["closed_in_community"], c["closed"]),
        report_in_on_time_rate=rate(c["reported_in_on_time"], c["summoned"]),
        claim_minutes_p50=nearest_rank(tally.claim, 0.5),
        claim_minutes_p90=nearest_rank(tally.claim, 0.9),
        resolve_minutes_p50=nearest_rank(tally.resolve, 0.5),
        resolve_minutes_p90=nearest_rank(tally.resolve, 0.9),
    )
    return c


def local_day(t: Ticket) -> date:
    return t.created_at.astimezone(SHANGHAI).date()


def period(day: date, series: str | None) -> str | None:
    if series is None:
        return None
    if series == "day":
        return day.isoformat()
    if series == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.strftime("%Y-%m")


def dimension(t: Ticket, dim: str, world: World) -> str | None:
    """The code a ticket shows under a dimension (None: no department)."""
    if dim in ("street", "community", "grid"):
        return world.nodes[getattr(t, f"{dim}_id")].code
    if dim == "department":
        return world.departments[t.department_id].code if t.department_id else None
    return {"category": t.category_code, "item": t.item_code, "source": t.source}[dim]


def report(world: World, *, start: date, end: date, group_by: list[str], now: datetime,
           place=lambda t: True, department: int | None = None,
           series: str | None = None) -> dict[tuple, dict]:
    """(group codes..., period) → metrics, plus ("total",) → metrics. ``place`` picks tickets
    by place, category (scope and filters); ``department`` is the holding department for
    ticket figures and the summoned department for whistle figures."""
    tallies: dict[tuple, Tally] = defaultdict(Tally)
    total = Tally()
    for t in world.tickets:
        if not (start <= local_day(t) <= end) or not place(t):
            continue
        when = period(local_day(t), series)
        if department is None or (t.department_id or 0) == department:
            key = (*(dimension(t, d, world) for d in group_by), when)
            for tally in (tallies[key], total):
                count_ticket(t, world, tally, now)
        if t.status == "cancelled":
            continue
        for summons in world.summons[t.id]:
            if department not in (None, summons.department_id):
                continue
            key = (*(world.departments[summons.department_id].code if d == "department"
                     else dimension(t, d, world) for d in group_by), when)
            for tally in (tallies[key], total):
                tally.counts["summoned"] += 1
                tally.counts["reported_in"] += summons.reported_in_at is not None
                tally.counts["reported_in_on_time"] += bool(summons.on_time)
    out = {key: metrics(tally) for key, tally in tallies.items()}
    out[("total",)] = metrics(total)
    return out
