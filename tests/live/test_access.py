"""A department's live queue × every role (and anonymous): the same people who may read
the department's queue may watch it."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from app.auth.apikeys import generate_api_key
from app.auth.models import ApiKey
from app.db import unit_of_work
from app.live import router as live_router
from app.live import start_broker, stop_broker

pytestmark = pytest.mark.usefixtures("reference")

STREAM = "/api/v1/departments/{code}/queue/stream"
WATCHERS = {"admin", "sd", "sup_bh", "sup_bh01", "cgzf_staff", "cgzf_lead"}
OTHERS = {"gw01", "cd01", "cd02", "hw_staff", "hw_lead", "integration"}
CASES = sorted(WATCHERS | OTHERS | {"anonymous"})


@pytest.fixture
async def api_key(sessions) -> str:
    raw, prefix, digest = generate_api_key()
    async with unit_of_work(sessions) as session:
        await session.execute(insert(ApiKey).values(name=f"live-{prefix}", prefix=prefix,
                                                    key_hash=digest))
    return raw


@pytest.fixture
async def short_streams(app, monkeypatch):
    """Streams that end at once, so that the buffering ASGI test client sees them whole."""
    monkeypatch.setattr(live_router, "LIFETIME_SECONDS", 0.01)
    await start_broker(app)
    yield
    await stop_broker(app)


def test_the_stream_is_the_only_live_route(app):
    streams = {(m.upper(), path) for path, ops in app.openapi()["paths"].items()
               if path.endswith("/stream") for m in ops}
    assert streams == {("GET", STREAM)}


@pytest.mark.parametrize("role", CASES)
async def test_stream_by_role(role, client, token_for, api_key, short_streams):
    headers = ({} if role == "anonymous" else {"X-API-Key": api_key}
               if role == "integration" else token_for(role))
    r = await client.get(STREAM.format(code="CGZF"), headers=headers)
    expected = 401 if role == "anonymous" else 200 if role in WATCHERS else 404
    assert r.status_code == expected, r.text[:300]
    if expected == 200:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.text.startswith("retry: ") and "event: closed" in r.text
