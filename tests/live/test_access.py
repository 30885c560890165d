"""A department's live queue × every role (and anonymous): the same people who may read
the department's queue may watch it."""

from __future__ import annotations

from datetime import timedelta

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


def headers_of(role, token_for, api_key) -> dict:
    return ({} if role == "anonymous" else {"X-API-Key": api_key}
            if role == "integration" else token_for(role))


def expected_for(role: str) -> int:
    """The queue's watchers 200, other callers 404 (no such queue of theirs), anonymous 401."""
    return 401 if role == "anonymous" else 200 if role in WATCHERS else 404


def assert_whole_stream(response) -> None:
    """A stream that opened, greeted and ended (short_streams)."""
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("retry: ") and "event: closed" in response.text


@pytest.mark.parametrize("role", CASES)
async def test_stream_by_role(role, client, token_for, api_key, short_streams):
    r = await client.get(STREAM.format(code="CGZF"), headers=headers_of(role, token_for, api_key))
    assert r.status_code == expected_for(role), r.text[:300]
    if r.status_code == 200:
        assert_whole_stream(r)


TICKET = "/api/v1/departments/{code}/queue/stream-ticket"


@pytest.mark.parametrize("role", CASES)
async def test_stream_ticket_by_role(role, client, token_for, api_key, short_streams):
    # Whoever may watch the queue gets a ticket, and the ticket alone (no header, as from
    # a browser's EventSource) opens the stream.
    r = await client.post(TICKET.format(code="CGZF"), headers=headers_of(role, token_for, api_key))
    assert r.status_code == expected_for(role), r.text[:300]
    if r.status_code == 200:
        body = r.json()
        assert body["expires_in"] == 30
        assert body["stream_url"] == STREAM.format(code="CGZF") + "?ticket=" + body["ticket"]
        assert_whole_stream(await client.get(body["stream_url"]))


async def _ticket(client, token_for, code: str = "CGZF", role: str = "cgzf_staff") -> str:
    r = await client.post(TICKET.format(code=code), headers=token_for(role))
    assert r.status_code == 200, r.text
    return r.json()["ticket"]


async def test_a_stream_ticket_opens_only_its_departments_stream(client, token_for, short_streams):
    ticket = await _ticket(client, token_for, code="CGZF", role="admin")
    r = await client.get(STREAM.format(code="HW"), params={"ticket": ticket})
    assert r.status_code == 401 and "stream ticket" in r.json()["detail"], r.text


async def test_a_stream_ticket_expires_after_30_seconds(client, token_for, clock, short_streams):
    ticket = await _ticket(client, token_for)
    clock.advance(timedelta(seconds=29))
    assert (await client.get(STREAM.format(code="CGZF"), params={"ticket": ticket})
            ).status_code == 200
    clock.advance(timedelta(seconds=1))
    r = await client.get(STREAM.format(code="CGZF"), params={"ticket": ticket})
    assert r.status_code == 401 and r.json()["detail"] == "stream ticket expired", r.text


async def test_a_stream_ticket_is_not_an_access_token_nor_the_reverse(client, token_for,
                                                                     short_streams):
    ticket = await _ticket(client, token_for)
    r = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {ticket}"})
    assert r.status_code == 401 and "invalid access token" in r.json()["detail"], r.text
    access_token = token_for("cgzf_staff")["Authorization"].removeprefix("Bearer ")
    r = await client.get(STREAM.format(code="CGZF"), params={"ticket": access_token})
    assert r.status_code == 401 and "invalid stream ticket" in r.json()["detail"], r.text

