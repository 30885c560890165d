"""Fixtures of the Open311 tests: an app with the Open311 router mounted, API keys, and
the demo street's places (a point inside grid BH01-01)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.auth.apikeys import generate_api_key
from app.auth.models import ApiKey
from app.db import unit_of_work, utc_now
from app.jurisdiction.models import Jurisdiction
from app.main import create_app
from app.open311.router import PREFIX, router

# A point well inside grid BH01-01 (海韵社区第一网格) of the demo street BH.
INSIDE_BH01_01 = (38.9190, 121.6170)


def _mounted(app) -> bool:
    return any(p.startswith(PREFIX) for p in app.openapi()["paths"])


@pytest.fixture(scope="session")
async def open311_app(settings, engine, clock, reference):
    """The app as ``create_app`` builds it, with the Open311 router mounted if the app
    does not mount it itself yet."""
    application = create_app(settings, clock=clock)
    if not _mounted(application):
        application.include_router(router)
        application.openapi_schema = None
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def o311(open311_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=open311_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test" + PREFIX + "/") as c:
        yield c


async def _new_key(sessions, *, name: str, node_code: str | None = None,
                   revoked: bool = False) -> str:
    from sqlalchemy import select

    raw, prefix, key_hash = generate_api_key()
    async with unit_of_work(sessions) as session:
        node_id = None
        if node_code:
            node_id = (await session.execute(
                select(Jurisdiction.id).where(Jurisdiction.code == node_code))).scalar_one()
        session.add(ApiKey(name=name, prefix=prefix, key_hash=key_hash, jurisdiction_id=node_id,
                           revoked_at=utc_now() if revoked else None))
    return raw


@pytest.fixture(scope="session")
async def api_key(sessions, reference) -> str:
    """An unscoped integration key (a district-wide resident app)."""
    return await _new_key(sessions, name="open311 test app")


@pytest.fixture(scope="session")
async def bh02_key(sessions, reference) -> str:
    """A key bound to community BH02: it may not file into BH01's grids."""
    return await _new_key(sessions, name="open311 BH02 app", node_code="BH02")


@pytest.fixture(scope="session")
async def revoked_key(sessions, reference) -> str:
    return await _new_key(sessions, name="open311 revoked app", revoked=True)
