"""Possible duplicates (疑似重复): the same problem reported again nearby.

Two open tickets are suspected duplicates when they have the same matrix item (the same
item, not merely the same category: 市容环境 alone covers litter and illegal parking), both
have a location, they lie within ``duplicate_radius_m`` of each other and were posted
within ``duplicate_days`` of each other.

- At intake, :func:`possible_duplicates` answers the open tickets of the new post's item
  within the radius posted in the last ``duplicate_days``, nearest first, at most
  ``MAX_SUGGESTED``, only those the poster may read (their scope), in one query.
- For dispatchers, :func:`duplicate_groups` joins suspected pairs into groups (a chain
  A~B~C is one group even when A and C are further apart), most recent first; merging one
  ticket into another is the ``merge`` action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.scope import ticket_scope_clause
from app.config import Settings
from app.duplicates import repository as repo
from app.jurisdiction.coordinates import degrees_around, distance_m
from app.tickets import repository as tickets_repo
from app.tickets.models import Ticket
from app.tickets.repository import TicketView

MAX_SUGGESTED = 5
# The dispatchers' view reads every open located ticket in scope; past this many it
# pairs the first ones only (a street has a few thousand open tickets).
MAX_SCANNED = 100_000


@dataclass(frozen=True, slots=True)
class Nearby:
    """An open ticket near a new post: its row (``repo.NEARBY_COLUMNS``) and how far."""

    row: Any
    distance_m: float


async def possible_duplicates(*, session: AsyncSession, actor: Actor, item_code: str,
                              lat: float, lon: float, now: datetime, settings: Settings,
                              exclude_id: int | None = None) -> list[Nearby]:
    """Open tickets of ``item_code`` the actor may read within the radius of (lat, lon)
    (WGS-84), posted in the last ``duplicate_days``; nearest first."""
    d_lat, d_lon = degrees_around(lat, settings.duplicate_radius_m)
    rows = await repo.open_near(
        session, item_code=item_code, lat=lat, lon=lon, box=repo.Box(d_lat, d_lon),
        since=now - timedelta(days=settings.duplicate_days),
        scope=ticket_scope_clause(actor, Ticket), exclude_id=exclude_id)
    found = [Nearby(row, distance_m(lat, lon, row.lat, row.lon)) for row in rows]
    near = [n for n in found if n.distance_m <= settings.duplicate_radius_m]
    near.sort(key=lambda n: (n.distance_m, -n.row.id))
    return near[:MAX_SUGGESTED]


@dataclass(frozen=True, slots=True)
class Group:
    item_code: str
    tickets: list[TicketView]  # oldest first: the first is the natural merge target
    spread_m: float  # the largest distance between two of its suspected pairs


def _within(level: str | None, node_id: int | None) -> ColumnElement[bool]:
    if level is None:
        return true()
    return {"street": Ticket.street_id, "community": Ticket.community_id,
            "grid": Ticket.grid_id}[level] == node_id


def _close_pairs(rows, radius_m: float, period: timedelta):
    """(a, b, metres) for the rows (ordered by item, then latitude) of one item within
    ``radius_m`` and ``period`` of each other: a sweep over the latitude band of each."""
    start = 0
    for i, b in enumerate(rows):
        d_lat, d_lon = degrees_around(b.lat, radius_m)
        while rows[start].item_code != b.item_code or b.lat - rows[start].lat > d_lat:
            start += 1
        for a in rows[start:i]:
            if abs(a.lon - b.lon) > d_lon or abs(a.created_at - b.created_at) > period:
                continue
            metres = distance_m(a.lat, a.lon, b.lat, b.lon)
            if metres <= radius_m:
                yield a, b, metres


async def duplicate_groups(*, session: AsyncSession, actor: Actor, settings: Settings,
                           level: str | None = None, node_id: int | None = None,
                           item_code: str | None = None, limit: int = 50) -> list[Group]:
    """Groups of suspected duplicates among the open tickets the actor may read (within a
    jurisdiction's subtree when ``level``/``node_id`` name one), latest post first."""
    rows = await repo.open_located(
        session, scope=ticket_scope_clause(actor, Ticket), within=_within(level, node_id),
        item_code=item_code, cap=MAX_SCANNED)
    parent: dict[int, int] = {}
    posted_at: dict[int, datetime] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    close: list[tuple[int, float]] = []
    period = timedelta(days=settings.duplicate_days)
    for a, b, metres in _close_pairs(rows, settings.duplicate_radius_m, period):
        close.append((a.id, metres))
        posted_at[a.id], posted_at[b.id] = a.created_at, b.created_at
        parent[root(b.id)] = root(a.id)
    members: dict[int, list[int]] = {}
    for ticket_id in parent:
        members.setdefault(root(ticket_id), []).append(ticket_id)
    spread: dict[int, float] = {}
    for a_id, metres in close:
        spread[root(a_id)] = max(spread.get(root(a_id), 0.0), metres)
    latest = sorted(members, reverse=True,
                    key=lambda key: max((posted_at[i], i) for i in members[key]))[:limit]
    if not latest:
        return []
    ids = sorted(i for key in latest for i in members[key])
    views = await tickets_repo.load_views(session, tickets_repo.view_select().where(
        Ticket.id.in_(ids), ticket_scope_clause(actor, Ticket)))
    by_id = {v.ticket.id: v for v in views}
    groups = []
    for key in latest:
        group_views = sorted((by_id[i] for i in members[key] if i in by_id),
                             key=lambda v: (v.ticket.created_at, v.ticket.id))
        if len(group_views) > 1:
            groups.append(Group(group_views[0].ticket.item_code, group_views, spread[key]))
    return groups
