"""``GET /metrics``: HTTP requests by route template and status, the pool, open live
streams, the service's figures read from the database, and who may read them."""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_network

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import delete, update
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from app.db import unit_of_work
from app.main import create_app
from app.observability.metrics import DELIVERY_FAILURES, LIVE_STREAMS, POOL_IN_USE
from app.observability.models import WorkerHeartbeat
from app.sla.commands import run_worker
from app.webhooks.models import OutboxMessage, WebhookSubscription
from app.webhooks.worker import run_deliveries_once
from tests.live.serving import serve
from tests.live.sse import sse_events
from tests.sla.support import post


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def metered(settings, clock, engine):
    """An app whose figures are read afresh at every scrape, and its client."""
    app = create_app(settings.model_copy(update={"metrics_cache_seconds": 0}), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        yield app, client
    await app.state.engine.dispose()


async def scrape(client) -> str:
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return r.text


async def test_requests_are_counted_by_route_template_and_status(metered, token_for):
    _, client = metered
    name = "whistle_http_request_duration_seconds_count"
    route = {"method": "GET", "route": "/api/v1/departments/{code}"}
    before = await scrape(client)
    for code in ("CGZF", "HW"):
        assert (await client.get(f"/api/v1/departments/{code}",
                                 headers=token_for("admin"))).status_code == 200
    assert (await client.get("/api/v1/departments/NOPE", headers=token_for("admin"))
            ).status_code == 404
    await client.get("/no/such/path")
    after = await scrape(client)
    assert value(after, name, **route, status="200") - value(before, name, **route,
                                                            status="200") == 2
    assert value(after, name, **route, status="404") - value(before, name, **route,
                                                            status="404") == 1
    # Unknown paths share one label, so that a scanner cannot grow the label set.
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 1
    assert not any("NOPE" in str(labels) for _, labels in samples(after))


async def test_service_figures_follow_the_database(metered, token_for, pick_item, sessions,
                                                   settings, clock):
    app, client = metered
    before = await scrape(client)
    ticket = await post(client, token_for, pick_item(level="street", self_handle=False))
    assert ticket["status"] == "dispatched"
    after = await scrape(client)
    department = ticket["department"]
    assert value(after, "whistle_queue_depth", department=department) \
        - value(before, "whistle_queue_depth", department=department) == 1
    key = {"level": "street", "status": "dispatched", "sla_state": "on_track"}
    assert value(after, "whistle_open_tickets", **key) \
        - value(before, "whistle_open_tickets", **key) == 1
    for name in ("whistle_report_backlog", "whistle_outbox_pending", "whistle_outbox_dead",
                 "whistle_tickets_overdue", "whistle_tickets_warning",
                 "whistle_outbox_oldest_age_seconds"):
        assert (name, frozenset()) in samples(after), name

    # The worker's heartbeat: fresh after a pass, stale once nothing has passed for long.
    await run_worker(settings=settings, clock=clock, passes=1, echo=lambda _: None)
    fresh = await scrape(client)
    assert value(fresh, "whistle_worker_stale") == 0
    assert value(fresh, "whistle_worker_last_pass_timestamp_seconds") == clock.now().timestamp()
    assert value(fresh, "whistle_worker_last_pass_duration_seconds") > 0
    clock.advance(timedelta(seconds=settings.worker_stale_seconds + 1))
    stale = await scrape(client)
    assert value(stale, "whistle_worker_stale") == 1
    assert value(stale, "whistle_worker_heartbeat_age_seconds") > settings.worker_stale_seconds
    async with unit_of_work(sessions) as session:
        await session.execute(delete(WorkerHeartbeat))


async def test_figures_are_cached_for_the_configured_time(settings, clock, token_for,
                                                          pick_item):
    app = create_app(settings.model_copy(update={"metrics_cache_seconds": 300}), clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            first = await scrape(client)
            await post(client, token_for, pick_item(level="street", self_handle=False))
            again = await scrape(client)
    finally:
        await app.state.engine.dispose()
    figures = [(n, lbl) for (n, lbl) in samples(first) if n == "whistle_queue_depth"]
    assert all(samples(first)[k] == samples(again)[k] for k in figures)


async def test_only_allowed_networks_or_the_token_may_scrape(settings, clock):
    locked = settings.model_copy(update={"metrics_allowed_networks": [ip_network("10.0.0.0/8")],
                                         "metrics_token": SecretStr("scrape-me-0123456789")})
    app = create_app(locked, clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            assert (await client.get("/metrics")).status_code == 404
            wrong = {"Authorization": "Bearer guess"}
            assert (await client.get("/metrics", headers=wrong)).status_code == 404
            right = {"Authorization": "Bearer scrape-me-0123456789"}
            assert (await client.get("/metrics", headers=right)).status_code == 200
    finally:
        await app.state.engine.dispose()


async def test_pool_use_is_a_gauge(metered):
    app, client = metered
    start = POOL_IN_USE._value.get()
    async with app.state.engine.connect():
        assert POOL_IN_USE._value.get() == start + 1
        text = await scrape(client)
        assert value(text, "whistle_db_pool_connections_in_use") >= 1
    assert POOL_IN_USE._value.get() == start
    assert value(text, "whistle_db_pool_capacity") >= 40


async def test_open_live_streams_are_counted(app, token_for):
    start = LIVE_STREAMS._value.get()
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http, \
            http.stream("GET", "/api/v1/departments/CGZF/queue/stream",
                        headers=token_for("cgzf_staff")) as response:
        events = sse_events(response)
        await anext(events)  # connected
        assert LIVE_STREAMS._value.get() == start + 1
        assert value((await http.get("/metrics")).text, "whistle_live_streams_open") >= 1
    assert LIVE_STREAMS._value.get() == start


@pytest.fixture
async def no_other_messages(sessions):
    """Earlier tests' subscriptions and pending messages stay out of this one's rounds."""
    async def quiet() -> None:
        async with unit_of_work(sessions) as session:
            await session.execute(update(WebhookSubscription).values(is_active=False))
            await session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                                  .values(status="dead", last_error="left by another test"))
    await quiet()
    yield
    await quiet()


async def test_the_outbox_and_failed_deliveries_are_counted(
        metered, token_for, matrix_items, sessions, settings, clock, no_other_messages):
    _, client = metered
    refusing = Starlette(routes=[Route("/hook", lambda _: Response(status_code=503),
                                       methods=["POST"])])
    failures = DELIVERY_FAILURES.labels("webhook")
    async with serve(refusing, lifespan="off") as base, httpx.AsyncClient() as http:
        r = await client.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                              json={"url": f"{base}/hook", "event_types": ["created"]})
        assert r.status_code == 201, r.text
        item = next(code for code, i in sorted(matrix_items.items())
                    if i.handling_level == "street" and i.primary_department == "CGZF"
                    and not i.self_handle_allowed)
        await post(client, token_for, item)
        waiting = await scrape(client)
        assert value(waiting, "whistle_outbox_pending") == 1
        before = failures._value.get()
        assert await run_deliveries_once(sessions, clock.now(), settings=settings,
                                         http=http) == 1
    assert failures._value.get() == before + 1
    text = await scrape(client)
    assert value(text, "whistle_delivery_failures_total", channel="webhook") >= 1
