"""The demo dataset: 滨海街道 (Binhai street) with its communities and grids, the
departments, the shipped matrix, one user per role, an integration key and a few hundred
historical tickets in varied states, so every screen and report has something to show.

``seed_reference`` (everything but tickets) is also what the test suite starts from.
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.models import User
from app.clock import FrozenClock
from app.config import get_settings
from app.db import utc_now
from app.jurisdiction import service as jurisdiction_service
from app.matrix import service as matrix_service
from app.tickets.models import Ticket

DATA = Path(__file__).resolve().parent.parent
DEPARTMENTS_CSV = DATA / "jurisdiction" / "data" / "departments.csv"
STREET_GEOJSON = DATA / "jurisdiction" / "data" / "demo_street.geojson"
MATRIX_CSV = DATA / "matrix" / "data" / "matrix.csv"

DEMO_PASSWORD = "whistle-demo"
# (username, role, scope) — the README lists the same table.
DEMO_USERS: list[tuple[str, str, str]] = [
    ("admin", "admin", "-"),
    ("gw01", "grid_worker", "BH01-01, BH01-02"),
    ("gw02", "grid_worker", "BH02-01"),
    ("cd01", "community_dispatcher", "BH01"),
    ("cd02", "community_dispatcher", "BH02"),
    ("sd", "street_dispatcher", "BH"),
    ("cgzf_staff", "department_staff", "CGZF"),
    ("cgzf_staff2", "department_staff", "CGZF"),
    ("cgzf_lead", "department_lead", "CGZF"),
    ("hw_staff", "department_staff", "HW"),
    ("hw_lead", "department_lead", "HW"),
    ("sup_bh", "supervisor", "BH"),
    ("sup_bh01", "supervisor", "BH01"),
]


def _user_kwargs(role: str, scope: str) -> dict:
    codes = [c.strip() for c in scope.split(",") if c.strip() and c.strip() != "-"]
    if role == "grid_worker":
        return {"grid_codes": codes}
    if role in ("department_staff", "department_lead"):
        return {"department_code": codes[0]}
    if role == "admin":
        return {}
    return {"scope_code": codes[0]}


async def seed_reference(*, session: AsyncSession) -> dict[str, int]:
    """Departments, the street's tree, the matrix and the demo users; idempotent."""
    rows = jurisdiction_service.load_departments_csv(DEPARTMENTS_CSV.read_text(encoding="utf-8-sig"))
    feature_collection = json.loads(STREET_GEOJSON.read_text(encoding="utf-8"))
    await jurisdiction_service.import_jurisdictions(session=session,
                                                    feature_collection=feature_collection)
    await jurisdiction_service.import_departments(session=session, rows=rows)
    if await matrix_service.current_version(session=session) is None:
        await matrix_service.import_matrix(
            session=session, csv_text=MATRIX_CSV.read_text(encoding="utf-8-sig"),
            label="shipped matrix", source=MATRIX_CSV.name)
    existing = set((await session.execute(select(User.username))).scalars())
    for username, role, scope in DEMO_USERS:
        if username not in existing:
            await auth_service.create_user(
                session=session, username=username, password=DEMO_PASSWORD, role=role,
                display_name=username, **_user_kwargs(role, scope))
    await session.flush()
    from app.notifications.demo import seed_channels  # a group robot per department

    await seed_channels(session=session)
    return {"users": len(DEMO_USERS)}


async def seed_demo(*, session: AsyncSession, force: bool = False, tickets: int = 300,
                    now: datetime | None = None) -> str:
    await seed_reference(session=session)
    count = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
    if count and not force:
        return f"demo data present ({count} tickets); nothing to do"
    from app.demo.history import make_history  # imports the whole workflow: only when needed
    from app.reports.backlog import drain_all

    # The session's after-event pipeline (``workflow_sessions``) keeps deadlines and report
    # rollups for the history as the API does.
    made = await make_history(session=session, count=tickets,
                              clock=FrozenClock(now or utc_now()), rng=random.Random(20261123))
    # The history's changes only marked the report backlog; leave the rollups complete, so
    # that the demo's tables read right without a worker or a report read first.
    await drain_all(session, settings=get_settings())
    return f"seeded the demo street: {made} historical tickets" + (
        "" if count else "; demo users' password: " + DEMO_PASSWORD)
