"""Live queues over a real HTTP server: what a department's stream carries, and to whom."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from app.live import router as live_router
from app.live import start_broker, stop_broker
from app.main import create_app
from tests.live.serving import serve
from tests.live.sse import Stream

pytestmark = pytest.mark.usefixtures("reference")

STREAM = "/api/v1/departments/{code}/queue/stream"


def item_of(matrix_items, department: str) -> str:
    return next(code for code, item in sorted(matrix_items.items())
                if item.handling_level == "street" and item.primary_department == department
                and not item.self_handle_allowed)


async def post_ticket(client, token_for, item: str, *, by: str = "gw01",
                      grid: str = "BH01-01") -> dict:
    r = await client.post("/api/v1/tickets", headers=token_for(by), json={
        "grid": grid, "item": item, "description": "占道经营，影响通行"})
    assert r.status_code == 201, r.text
    return r.json()


@contextlib.asynccontextmanager
async def instance(settings, clock) -> AsyncIterator[str]:
    """Another API process over the same database, served on a loopback port."""
    app = create_app(settings, clock=clock)
    await start_broker(app)  # the lifespan starts it too; starting twice is a no-op
    try:
        async with serve(app) as base:
            yield base
    finally:
        await stop_broker(app)
        await app.state.engine.dispose()


@contextlib.asynccontextmanager
async def open_stream(base: str, headers: dict, code: str = "CGZF") -> AsyncIterator[Stream]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http, \
            http.stream("GET", STREAM.format(code=code), headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        try:
            greeting = await stream.next()
            assert greeting.comments == ["connected"] and greeting.retry
            yield stream
        finally:
            await stream.close()


async def test_a_department_stream_gets_its_new_tickets_and_nothing_else(
        settings, clock, client, token_for, matrix_items):
    async with instance(settings, clock) as base, \
            open_stream(base, token_for("cgzf_staff")) as stream:
        await post_ticket(client, token_for, item_of(matrix_items, "HW"))
        mine = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
        event = await stream.next_named()
        assert event.event == "new" and event.json["ticket_id"] == mine["id"]
        assert event.json["status"] == "dispatched" and event.json["kind"] == "created"
        assert int(event.id) == event.json["event_id"]

        r = await client.post(f"/api/v1/tickets/{mine['id']}/claim",
                              headers=token_for("cgzf_staff"))
        assert r.status_code == 200, r.text
        event = await stream.next_named()
        assert (event.event, event.json["ticket_id"]) == ("claimed", mine["id"])
        r = await client.post(f"/api/v1/tickets/{mine['id']}/return",
                              headers=token_for("cgzf_staff"), json={"reason": "不归我们管"})
        assert r.status_code == 200, r.text
        event = await stream.next_named()
        assert (event.event, event.json["status"]) == ("returned", "returned")
        assert await stream.nothing_named(within=0.3)


async def test_street_dispatchers_and_supervisors_see_their_part_of_the_queue(
        settings, clock, client, token_for, matrix_items):
    item = item_of(matrix_items, "CGZF")
    async with instance(settings, clock) as base, \
            open_stream(base, token_for("sd")) as street, \
            open_stream(base, token_for("sup_bh01")) as community:
        in_bh02 = await post_ticket(client, token_for, item, by="gw02", grid="BH02-01")
        in_bh01 = await post_ticket(client, token_for, item)
        assert (await street.next_named()).json["ticket_id"] == in_bh02["id"]
        assert (await street.next_named()).json["ticket_id"] == in_bh01["id"]
        assert (await community.next_named()).json["ticket_id"] == in_bh01["id"]
        assert await community.nothing_named(within=0.3)


async def test_departments_summoned_by_a_whistle_hear_it_on_their_stream(
        settings, clock, client, token_for, matrix_items):
    async with instance(settings, clock) as base, \
            open_stream(base, token_for("hw_staff"), code="HW") as summoned:
        ticket = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
        r = await client.post(f"/api/v1/tickets/{ticket['id']}/whistle", headers=token_for("sd"),
                              json={"departments": ["HW"], "reason": "需要环卫配合清运"})
        assert r.status_code == 200, r.text
        event = await summoned.next_named()
        assert (event.event, event.json["ticket_id"]) == ("whistle_blown", ticket["id"])


async def test_an_idle_stream_sends_keep_alive_comments(settings, clock, token_for,
                                                        monkeypatch):
    monkeypatch.setattr(live_router, "KEEPALIVE_SECONDS", 0.05)
    async with instance(settings, clock) as base, \
            open_stream(base, token_for("cgzf_lead")) as stream:
        assert (await stream.next(2)).comments == ["keep-alive"]


async def test_a_stream_ends_when_its_time_is_up_so_the_client_renews_its_token(
        settings, clock, token_for, monkeypatch):
    monkeypatch.setattr(live_router, "LIFETIME_SECONDS", 0.2)
    async with instance(settings, clock) as base, \
            open_stream(base, token_for("cgzf_lead")) as stream:
        event = await stream.next_named(2)
        assert event.event == "closed" and "time is up" in event.json["reason"]


async def test_stopping_the_broker_ends_open_streams(settings, clock, token_for):
    app = create_app(settings, clock=clock)
    await start_broker(app)
    try:
        async with serve(app) as base, open_stream(base, token_for("cgzf_lead")) as stream:
            await stop_broker(app)
            event = await stream.next_named(2)
            assert event.event == "closed" and "shutting down" in event.json["reason"]
    finally:
        await app.state.engine.dispose()


@pytest.mark.parametrize(("user", "code", "status"), [
    ("hw_staff", "CGZF", 404),
    ("gw01", "CGZF", 404),
    ("cd01", "CGZF", 404),
    ("cgzf_staff", "NOPE", 404),
    (None, "CGZF", 401),
])
async def test_only_the_departments_people_may_watch_its_queue(client, token_for, user, code,
                                                               status):
    headers = token_for(user) if user else {}
    r = await client.get(STREAM.format(code=code), headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"


async def test_stream_of_a_process_without_a_broker_is_503(client, token_for, app):
    assert getattr(app.state, "broker", None) is None  # the ASGI test app runs no lifespan
    r = await client.get(STREAM.format(code="CGZF"), headers=token_for("cgzf_staff"))
    assert r.status_code == 503 and r.json()["title"] == "Live queues unavailable"


async def test_on_postgresql_a_ticket_posted_on_one_instance_reaches_a_stream_on_another(
        settings, clock, token_for, matrix_items, is_postgres):
    if not is_postgres:
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL")
    app_a = create_app(settings, clock=clock)  # instance A: no broker needed to publish
    try:
        async with instance(settings, clock) as base_b, \
                open_stream(base_b, token_for("cgzf_staff")) as stream, \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app_a),
                                  base_url="http://a") as client_a:
            ticket = await post_ticket(client_a, token_for, item_of(matrix_items, "CGZF"))
            event = await stream.next_named()
            assert (event.event, event.json["ticket_id"]) == ("new", ticket["id"])
    finally:
        await app_a.state.engine.dispose()
