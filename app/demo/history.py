"""Historical demo tickets, made through the real services (posting, routing, workflow
actions) at past instants, so their timelines, deadlines and counters are all genuine."""

from __future__ import annotations

import contextlib
import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role, User
from app.auth.service import actor_for_user, create_user
from app.clock import FrozenClock
from app.config import get_settings
from app.demo.bulk_story import RATINGS, pick
from app.errors import WhistleError
from app.jurisdiction.models import Department, Jurisdiction
from app.matrix.models import MatrixItem
from app.matrix.service import current_version
from app.tickets.action_context import ActionInput
from app.tickets.lookups import Lookups
from app.tickets.models import Ticket, Urgency
from app.tickets.schemas import Reporter, TicketCreate
from app.workflow import actions
from app.workflow.posting import post_ticket

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛"]
PLACES = ["海韵路", "星海广场", "滨海东路", "中山路", "人民路", "胜利街", "长春路", "港湾街"]
# What grid workers wrote, per item: the history's descriptions, so that the suggestion
# model (app.suggest) has realistic text to learn from. Written apart from the evaluation
# set (tests/data/suggest_eval.tsv), which must never be trained on.
REPORTS = Path(__file__).parent / "data" / "reports.tsv"
# Share of posts filed under a wrong item of the same category and corrected by the street
# dispatcher (改派 to the right item): the corrections the suggestion model learns most from.
MISFILED_SHARE = 0.08
# Where a ticket's story ends: (weight, the actions taken after posting).
ENDINGS: list[tuple[int, tuple[str, ...]]] = [
    (12, ()),
    (8, ("claim",)),
    (8, ("claim", "start")),
    (8, ("claim", "start", "resolve")),
    (40, ("claim", "start", "resolve", "verify_pass")),
    (6, ("claim", "start", "resolve", "verify_fail", "start", "resolve", "verify_pass")),
    (6, ("return", "reroute")),
    (4, ("cancel",)),
]


@dataclass
class Cast:
    """Who plays each part: posters per grid, staff per department, dispatchers."""

    grid_workers: dict[int, Actor]
    staff: dict[int, Actor]
    street_dispatcher: Actor
    community_dispatchers: dict[int, Actor]


async def _actor(session: AsyncSession, username: str) -> Actor:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one()
    return await actor_for_user(session=session, user=user)


async def _cast(session: AsyncSession) -> Cast:
    departments = (await session.execute(select(Department))).scalars().all()
    staff: dict[int, Actor] = {}
    for dept in departments:
        found = (await session.execute(select(User).where(
            User.department_id == dept.id, User.role == Role.department_staff))).scalars().first()
        if found is None:  # every department gets someone to work its queue in the demo
            found = await create_user(session=session, username=f"{dept.code.lower()}_staff",
                                      password="whistle-demo", role="department_staff",
                                      display_name=f"{dept.name}工作人员",
                                      department_code=dept.code)
        staff[dept.id] = await actor_for_user(session=session, user=found)
    grid_workers: dict[int, Actor] = {}
    community_dispatchers: dict[int, Actor] = {}
    for user in (await session.execute(select(User).where(User.role.in_(
            [Role.grid_worker, Role.community_dispatcher])))).scalars():
        actor = await actor_for_user(session=session, user=user)
        for grid_id in actor.grid_ids:
            grid_workers.setdefault(grid_id, actor)
        if actor.role is Role.community_dispatcher and actor.jurisdiction_id is not None:
            community_dispatchers[actor.jurisdiction_id] = actor  # (a dispatcher has one)
    # Every grid gets a grid worker and every community a dispatcher in the demo.
    for node in (await session.execute(select(Jurisdiction).where(
            Jurisdiction.level.in_(["grid", "community"])))).scalars():
        if node.id in grid_workers or node.id in community_dispatchers:
            continue
        is_grid = node.level == "grid"
        user = await create_user(
            session=session, username=("gw_" if is_grid else "cd_") + node.code.lower(),
            password="whistle-demo", role="grid_worker" if is_grid else "community_dispatcher",
            display_name=f"{node.name}{'网格员' if is_grid else '调度员'}",
            **({"grid_codes": [node.code]} if is_grid else {"scope_code": node.code}))
        actor = await actor_for_user(session=session, user=user)
        (grid_workers if is_grid else community_dispatchers)[node.id] = actor
    return Cast(grid_workers, staff, await _actor(session, "sd"), community_dispatchers)


def _who(action: str, ticket, cast: Cast) -> Actor:
    if action in ("claim", "start", "resolve", "return"):
        if ticket.level == "street" and ticket.department_id in cast.staff:
            return cast.staff[ticket.department_id]
        if ticket.level == "community" and ticket.community_id in cast.community_dispatchers:
            return cast.community_dispatchers[ticket.community_id]
        return cast.grid_workers.get(ticket.grid_id, cast.street_dispatcher)
    if action in ("verify_pass", "verify_fail"):
        return cast.grid_workers.get(ticket.grid_id) or cast.street_dispatcher
    return cast.street_dispatcher


def _photo(rng: random.Random) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (rng.randint(0, 255), rng.randint(0, 255), 90)).save(buf, "JPEG")
    return buf.getvalue()


async def _evidence(session: AsyncSession, actor: Actor, rng: random.Random,
                    at: datetime) -> list[int]:
    """A photo of the result, as a handler's phone would upload it."""
    from app.attachments.service import store_attachment

    settings = get_settings()
    stored = await store_attachment(session=session, actor=actor, data=_photo(rng),
                                    filename="result.jpg", directory=settings.attachment_dir,
                                    max_bytes=settings.attachment_max_bytes, now=at)
    return [stored.id]


def report_texts() -> dict[str, list[str]]:
    texts: dict[str, list[str]] = defaultdict(list)
    with REPORTS.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            texts[row["item"]].append(row["text"])
    return texts


def _input(action: str, rng: random.Random, ticket) -> ActionInput:
    return {
        "resolve": ActionInput(result=rng.choice(["已清理完毕", "已现场处置", "已协调解决",
                                                  "已责令整改并复查"])),
        "verify_fail": ActionInput(reason="现场复核未整改到位"),
        "return": ActionInput(reason="非本部门职责"),
        "reroute": ActionInput(department=rng.choice(["HW", "SZ", "CGZF"])),
        "cancel": ActionInput(reason="重复上报"),
    }.get(action, ActionInput())


async def make_history(*, session: AsyncSession, count: int, clock: FrozenClock,
                       rng: random.Random, days: int = 60) -> int:
    settings = get_settings()
    from app.jurisdiction.geo import JurisdictionCache  # the same caches the API uses
    from app.matrix.cache import MatrixCache

    lookups = Lookups(JurisdictionCache(check_seconds=0), MatrixCache(check_seconds=0))
    version = await current_version(session=session)
    if version is None:
        raise RuntimeError("no matrix has been imported")
    items = (await session.execute(select(MatrixItem).where(
        MatrixItem.version_id == version.id))).scalars().all()
    grids = (await session.execute(select(Jurisdiction).where(
        Jurisdiction.level == "grid"))).scalars().all()
    cast = await _cast(session)
    texts = report_texts()
    end = clock.now()
    starts = sorted(end - timedelta(minutes=rng.randint(60, days * 24 * 60)) for _ in range(count))
    weights = [w for w, _ in ENDINGS]
    made = 0
    for at in starts:
        grid = rng.choice(grids)
        item = rng.choice(items)
        poster = cast.grid_workers.get(grid.id, cast.street_dispatcher)
        said = rng.choice(texts.get(item.code) or [f"发现{item.name}"])
        filed = item
        if rng.random() < MISFILED_SHARE:
            filed = rng.choice([i for i in items if i.category_code == item.category_code
                                and i.code != item.code])
        data = TicketCreate(
            grid=grid.code, item=filed.code,
            description=f"{rng.choice(PLACES)}附近{said}，请尽快处理",
            address=f"{rng.choice(PLACES)}{rng.randint(1, 300)}号",
            urgency=Urgency.urgent if rng.random() < 0.15 else Urgency.normal,
            reporter=Reporter(name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                              phone=f"13{rng.randint(100000000, 999999999)}")
            if rng.random() < 0.4 else None,
            self_handle=bool(filed is item and item.self_handle_allowed
                             and poster.role is Role.grid_worker and rng.random() < 0.5),
        )
        posted = await post_ticket(session=session, lookups=lookups, actor=poster, data=data,
                                   idempotency_key=None, now=at, settings=get_settings())
        made += 1
        ticket_id = posted.view.ticket.id
        story = ("self_close",) if data.self_handle else rng.choices(
            [s for _, s in ENDINGS], weights)[0]
        if filed is not item:  # the street dispatcher routes it by the right item first
            story = ("correct", *(a for a in story if a not in ("return", "reroute")))
        moment = at
        for action in story:
            moment += timedelta(minutes=rng.randint(10, 60 * 30))
            if moment >= end:
                break
            ticket = await session.get(Ticket, ticket_id, populate_existing=True)
            actor = poster if action == "self_close" else _who(action, ticket, cast)
            step = _input(action, rng, ticket)
            if action == "correct":
                action, step = "reroute", ActionInput(item=item.code, reason="事项选错，改派")
            if action in ("resolve", "self_close"):
                step = ActionInput(result=step.result or "已现场劝导整改",
                                   attachments=await _evidence(session, actor, rng, moment))
            try:
                await actions.take_action(
                    session=session, actor=actor, ticket_id=ticket_id, action=action,
                    data=step, if_match=None, now=moment, settings=settings, lookups=lookups)
            except WhistleError:
                break  # a story that the rules refuse (e.g. no one to verify) just stops there
        if story and story[-1] in ("verify_pass", "self_close") and rng.random() < 0.6:
            moment += timedelta(hours=rng.randint(1, 48))
            if moment < end:
                with contextlib.suppress(WhistleError):
                    await actions.take_action(
                        session=session, actor=cast.street_dispatcher, ticket_id=ticket_id,
                        action="rate", data=ActionInput(rating=pick(rng, RATINGS)),
                        if_match=None, now=moment, settings=settings, lookups=lookups)
    return made
