"""Tickets with varied histories, made through the real services at past instants: posting,
then a random walk over the workflow (claims, returns, re-routing, escalation, extensions,
suspensions, whistles and report-ins, rework, reopening, ratings, cancellation), then SLA
sweeps that escalate, flag and whistle what was left late, then a few more actions.

Every ticket is posted between ``start`` and ``end`` (far from the other tests' clock), so
the reports over that range see only these."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image
from sqlalchemy import select

from app.attachments.service import store_attachment
from app.auth.models import User
from app.clock import SHANGHAI
from app.db import unit_of_work
from app.errors import WhistleError
from app.jurisdiction.geo import JurisdictionCache
from app.jurisdiction.models import Department, Jurisdiction
from app.matrix.cache import MatrixCache
from app.sla.sweep import sweep_once
from app.tickets.action_context import ActionInput
from app.tickets.lookups import Lookups
from app.tickets.models import Ticket
from app.tickets.schemas import TicketCreate
from app.whistle.service import summoned_departments
from app.workflow import actions
from app.workflow.posting import post_ticket

# status → (action, weight); "stop" ends the story there.
MOVES: dict[str, list[tuple[str, float]]] = {
    "self_handling": [("self_close", 5), ("escalate", 1.5), ("stop", 0.5)],
    "dispatched": [("claim", 8), ("return", 1), ("escalate", 1), ("blow_whistle", 0.6),
                   ("reroute", 0.4), ("cancel", 0.3), ("stop", 0.8)],
    "claimed": [("start", 6), ("release", 0.5), ("return", 0.8), ("request_extension", 0.8),
                ("request_suspension", 0.5), ("blow_whistle", 0.4), ("escalate", 0.3),
                ("stop", 0.4)],
    "in_progress": [("resolve", 6), ("request_extension", 0.8), ("request_suspension", 0.6),
                    ("return", 0.3), ("blow_whistle", 0.4), ("stop", 0.4)],
    "suspended": [("resume", 3), ("cancel", 0.2), ("stop", 0.5)],
    "resolved": [("verify_pass", 5), ("verify_fail", 1.2), ("stop", 0.3)],
    "rework": [("start", 4), ("stop", 0.3)],
    "returned": [("reroute", 4), ("cancel", 0.5), ("stop", 0.3)],
    "closed": [("rate", 4), ("reopen", 0.4), ("stop", 2)],
}
ROLE_OF_ACTION = {
    "claim": "holder", "start": "assignee", "resolve": "assignee", "release": "assignee",
    "return": "assignee", "request_extension": "assignee", "request_suspension": "assignee",
    "verify_pass": "verifier", "verify_fail": "verifier", "escalate": "dispatcher",
    "reroute": "dispatcher", "cancel": "street", "approve_extension": "approver",
    "reject_extension": "approver", "approve_suspension": "approver",
    "reject_suspension": "approver", "resume": "assignee", "blow_whistle": "street",
    "report_in": "summoned", "reopen": "dispatcher", "rate": "street", "self_close": "poster",
}
GRID_WORKERS = {"BH01-01": "gw01", "BH01-02": "gw01", "BH02-01": "gw02"}
COMMUNITY_DISPATCHERS = {"BH01": "cd01", "BH02": "cd02"}
STAFF = {"HW": ("hw_staff", "hw_lead"), "CGZF": ("cgzf_staff", "cgzf_lead")}
NEEDS_PHOTO = frozenset({"resolve", "self_close"})
STREET_ITEMS = ("0202", "0203", "0204", "0201", "0209", "0224", "0302", "0512")
COMMUNITY_ITEMS = ("0104", "0402", "0403", "0601", "0603")
GRID_ITEMS = ("0107", "0108", "0212", "0214", "0216", "0401", "0602", "0606", "0609")
POSTERS = (("gw01", ("BH01-01", "BH01-02")), ("gw02", ("BH02-01",)), ("sd", None),
           ("cd01", ("BH01-03", "BH01-04")))


@dataclass
class Walk:
    rng: random.Random
    reference: dict
    settings: object
    lookups: Lookups
    photo: bytes


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 80, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def _gap(rng: random.Random) -> timedelta:
    """Minutes to days between steps, mostly short."""
    return timedelta(minutes=rng.choice((3, 10, 25, 50, 90, 240, 600, 1500, 2900, 6000))
                     * rng.uniform(0.5, 1.5))


def _input(walk: Walk, action: str, attachments: list[int]) -> ActionInput:
    rng = walk.rng
    return {
        "return": ActionInput(reason="非本部门职责"),
        "reroute": ActionInput(department=rng.choice(["HW", "CGZF"])) if rng.random() < 0.7
        else ActionInput(item=rng.choice(STREET_ITEMS[:4])),
        "escalate": ActionInput(reason="超出处置能力"),
        "cancel": ActionInput(reason="重复上报"),
        "verify_fail": ActionInput(reason="复核未整改到位"),
        "reopen": ActionInput(reason="问题反复"),
        "request_extension": ActionInput(minutes=rng.choice([60, 240, 840]), reason="需协调"),
        "request_suspension": ActionInput(reason="等待居民"),
        "approve_extension": ActionInput(), "approve_suspension": ActionInput(),
        "rate": ActionInput(rating=rng.choices(["满意", "基本满意", "不满意"], [6, 3, 2])[0]),
        "blow_whistle": ActionInput(departments=rng.choice([["HW"], ["CGZF"], ["HW", "CGZF"]]),
                                    minutes=rng.choice([30, 60])),
    }.get(action, ActionInput(result="已处置", attachments=attachments))


@dataclass(frozen=True)
class Place:
    grid: str
    community: str
    department: str | None
    assignee: str | None


async def _place(session, ticket: Ticket) -> Place:
    grid = await session.get(Jurisdiction, ticket.grid_id)
    community = await session.get(Jurisdiction, ticket.community_id)
    department = (await session.get(Department, ticket.department_id)
                  if ticket.department_id else None)
    assignee = await session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    return Place(grid.code, community.code,
                 department.code if department else None,
                 assignee.username if assignee else None)


def _actor_for(action: str, ticket: Ticket, place: Place, summoned: tuple[int, ...],
               reference: dict, rng: random.Random) -> str | None:
    """The demo user who would take ``action`` on the ticket, if there is one."""
    role = ROLE_OF_ACTION[action]
    grid_worker = GRID_WORKERS.get(place.grid)
    community = COMMUNITY_DISPATCHERS.get(place.community)
    if role == "holder":
        if ticket.level == "street":
            return STAFF.get(place.department, (None,))[0]
        return community if ticket.level == "community" else grid_worker
    if role == "assignee":
        return place.assignee
    if role == "verifier":
        return grid_worker or community or "sd"
    if role == "dispatcher":
        return community or "sd"
    if role == "approver":
        return (community or "sd") if ticket.level == "grid" else "sd"
    if role == "summoned":
        codes = [code for code, (staff, _) in STAFF.items()
                 if reference[staff].department_id in summoned]
        return STAFF[rng.choice(codes)][1] if codes else None
    if role == "poster":
        return grid_worker
    return "sd"


async def _try(session, walk: Walk, ticket: Ticket, action: str, at: datetime) -> bool:
    summoned = await summoned_departments(session, ticket.id) if action == "report_in" else ()
    username = _actor_for(action, ticket, await _place(session, ticket), summoned,
                          walk.reference, walk.rng)
    if username is None:
        return False
    actor = walk.reference[username]
    try:
        async with session.begin_nested():
            attachments = []
            if action in NEEDS_PHOTO:
                stored = await store_attachment(
                    session=session, actor=actor, data=walk.photo, filename="r.jpg",
                    directory=walk.settings.attachment_dir,
                    max_bytes=walk.settings.attachment_max_bytes, now=at)
                attachments = [stored.id]
            await actions.take_action(
                session=session, actor=actor, ticket_id=ticket.id, action=action,
                data=_input(walk, action, attachments), if_match=None, now=at,
                settings=walk.settings, lookups=walk.lookups, summoned_departments=summoned)
        return True
    except WhistleError:
        return False


async def _walk(session, walk: Walk, ticket_id: int, at: datetime, steps: int) -> None:
    pending: list[str] = []  # decisions owed: approve/reject requests, report-ins
    for _ in range(steps):
        at += _gap(walk.rng)
        ticket = await session.get(Ticket, ticket_id, populate_existing=True)
        options = list(MOVES.get(ticket.status, [("stop", 1)]))
        options += [(p, 3) for p in pending]
        action = walk.rng.choices([a for a, _ in options], [w for _, w in options])[0]
        if action == "stop":
            return
        if action.startswith(("approve_", "reject_")) or action == "report_in":
            pending.remove(action)
        if not await _try(session, walk, ticket, action, at):
            continue
        if action.startswith("request_"):
            kind = action.removeprefix("request_")
            pending.append(walk.rng.choice([f"approve_{kind}", f"approve_{kind}",
                                            f"reject_{kind}"]))
        if action == "blow_whistle":
            pending += ["report_in"] * walk.rng.choice([0, 1, 2])


def _posted_at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    at = start + (end - start) * rng.random()
    if rng.random() < 0.75:  # mostly office hours, Shanghai time
        local = at.astimezone(SHANGHAI)
        at = local.replace(hour=rng.choice([8, 9, 10, 11, 14, 15, 16]),
                           minute=rng.randint(0, 59))
    return at


async def make_stories(*, sessions, reference: dict, settings, count: int, start: datetime,
                       end: datetime, seed: int = 7) -> list[int]:
    rng = random.Random(seed)
    walk = Walk(rng, reference, settings, Lookups(JurisdictionCache(check_seconds=0),
                                                  MatrixCache(check_seconds=0)), _photo())
    async with sessions() as session:
        grids = list((await session.execute(select(Jurisdiction.code).where(
            Jurisdiction.level == "grid").order_by(Jurisdiction.code))).scalars())
    ids: list[int] = []
    for at in sorted(_posted_at(rng, start, end) for _ in range(count)):
        username, own_grids = rng.choice(POSTERS)
        grid = rng.choice(own_grids or grids)
        grid_worker = username.startswith("gw")
        item = rng.choice((STREET_ITEMS, COMMUNITY_ITEMS, GRID_ITEMS)[rng.choices(
            [0, 1, 2], [5, 2, 3 if grid_worker else 1])[0]])
        body = TicketCreate(grid=grid, item=item, description="楼道堆放杂物，影响通行",
                            urgency="urgent" if rng.random() < 0.15 else "normal",
                            self_handle=grid_worker and item in GRID_ITEMS and rng.random() < 0.5)
        async with unit_of_work(sessions) as session:
            try:
                posted = await post_ticket(session=session, lookups=walk.lookups,
                                           actor=reference[username], data=body,
                                           idempotency_key=None, now=at,
                                           settings=settings)
            except WhistleError:
                continue
            ids.append(posted.view.ticket.id)
            await _walk(session, walk, ids[-1], at, steps=rng.randint(0, 9))
    return ids


async def sweep_and_continue(*, sessions, reference: dict, settings, ticket_ids: list[int],
                             when: datetime, seed: int = 8) -> None:
    """Sweep at ``when`` and a day later (escalations, overdue flags, whistles, missed
    report-ins), then act a little more on a fifth of the tickets."""
    for at in (when, when + timedelta(days=1)):
        await sweep_once(sessions=sessions, now=at, settings=settings)
    await act_on_some(sessions=sessions, reference=reference, settings=settings,
                      ticket_ids=ticket_ids, when=when + timedelta(days=1, hours=2), seed=seed)


async def act_on_some(*, sessions, reference: dict, settings, ticket_ids: list[int],
                      when: datetime, seed: int, share: int = 5) -> list[int]:
    """A few more steps of the walk from ``when`` on one ticket in ``share``, each ticket in
    its own transaction; the tickets chosen."""
    rng = random.Random(seed)
    walk = Walk(rng, reference, settings, Lookups(JurisdictionCache(check_seconds=0),
                                                  MatrixCache(check_seconds=0)), _photo())
    chosen = rng.sample(ticket_ids, len(ticket_ids) // share)
    for ticket_id in chosen:
        async with unit_of_work(sessions) as session:
            await _walk(session, walk, ticket_id, when, steps=4)
    return chosen
