"""Fixtures of the jurisdiction tests: the demo street imported (idempotently, as other
domains' tests may import it too), the process cache, and tokens for hand-made actors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.actor import Actor
from app.auth.models import Role
from app.auth.tokens import encode_access_token
from app.db import unit_of_work
from app.jurisdiction import service
from app.jurisdiction.geo import JurisdictionCache
from app.jurisdiction.models import Department, Jurisdiction

DATA = Path(__file__).resolve().parents[2] / "app" / "jurisdiction" / "data"
DEMO_GEOJSON = DATA / "demo_street.geojson"
DEPARTMENTS_CSV = DATA / "departments.csv"


def demo_collection() -> dict:
    return json.loads(DEMO_GEOJSON.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
async def demo(sessions) -> dict[str, int]:
    """Import the demo street and the shipped departments; return code → id for both."""
    async with unit_of_work(sessions) as session:
        await service.import_jurisdictions(session=session, feature_collection=demo_collection())
        rows = service.load_departments_csv(DEPARTMENTS_CSV)
        await service.import_departments(session=session, rows=rows)
    async with sessions() as session:
        nodes = (await session.execute(select(Jurisdiction.code, Jurisdiction.id))).all()
        departments = (await session.execute(select(Department.code, Department.id))).all()
    return {**dict(nodes), **{f"dept:{code}": i for code, i in departments}}


@pytest.fixture(scope="session")
def cache(app, settings) -> JurisdictionCache:
    """The app's cache (create_app sets it; set it here if this tree predates that)."""
    if getattr(app.state, "jurisdictions", None) is None:
        app.state.jurisdictions = JurisdictionCache(check_seconds=settings.cache_check_seconds)
    return app.state.jurisdictions


@pytest.fixture
def auth(settings, clock, cache) -> Callable[..., dict[str, str]]:
    """``auth(Role.admin, jurisdiction_id=...)`` → Authorization headers for that actor."""

    def make(role: Role, **scope) -> dict[str, str]:
        actor = Actor(kind="user", id=scope.pop("id", 990001), role=role, name=role.value,
                      **scope)
        token = encode_access_token(actor, secret=settings.secret_key, now=clock.now(),
                                    minutes=15)
        return {"Authorization": f"Bearer {token}"}

    return make
