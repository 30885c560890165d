"""Delivering the outbox: signed, retried with backoff, logged, at least once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.webhooks.delivery import MAX_ATTEMPTS, backoff, deliver_due
from app.webhooks.models import OutboxMessage, WebhookDelivery
from app.webhooks.signing import verify_signature
from app.webhooks.worker import run_deliveries_once
from tests.live.serving import serve
from tests.webhooks.test_subscriptions import item_of, post_ticket

pytestmark = pytest.mark.usefixtures("reference", "only_this_tests_messages")


@pytest.fixture
def deliver_now(sessions, settings, clock):
    """``await deliver_now(http)``: one delivery round at the test clock's now."""
    async def deliver(http: httpx.AsyncClient, batch: int = 100) -> int:
        return await deliver_due(sessions=sessions, http=http, now=clock.now(),
                                 settings=settings, batch=batch)
    return deliver


def test_backoff_doubles_from_ten_seconds_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 80, 160]
    assert backoff(9) == timedelta(seconds=2560)
    assert backoff(10) == backoff(30) == timedelta(hours=1)


class FlakyReceiver:
    """A department's endpoint that fails ``failures`` times, then accepts; it keeps every
    request and deduplicates what it accepted on the delivery id, as receivers should."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.accepted: dict[str, dict] = {}
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        self.requests.append((dict(request.headers), body))
        if len(self.requests) <= self.failures:
            return Response("try later", status_code=503)
        self.accepted.setdefault(request.headers["x-whistle-delivery"], json.loads(body))
        return Response(status_code=204)


async def test_a_receiver_that_fails_twice_gets_the_event_once_signed(
        client, token_for, sessions, matrix_items, clock, deliver_now):
    receiver = FlakyReceiver(failures=2)
    async with serve(receiver.app, lifespan="off") as base, httpx.AsyncClient() as http:
        r = await client.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                              json={"url": f"{base}/hook", "event_types": ["created"]})
        sub = r.json()
        ticket = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))

        async def deliver() -> int:
            return await deliver_now(http)

        assert await deliver() == 1  # attempt 1: 503
        assert await deliver() == 0  # not due again for 10 s
        clock.advance(timedelta(seconds=10))
        assert await deliver() == 1  # attempt 2: 503
        clock.advance(timedelta(seconds=19))
        assert await deliver() == 0  # the second wait is 20 s
        clock.advance(timedelta(seconds=1))
        assert await deliver() == 1  # attempt 3: accepted
        clock.advance(timedelta(hours=2))
        assert await deliver() == 0  # delivered: never sent again

    assert len(receiver.requests) == 3
    delivery_ids = {h["x-whistle-delivery"] for h, _ in receiver.requests}
    assert len(delivery_ids) == 1 and list(receiver.accepted) == list(delivery_ids)
    (event,) = receiver.accepted.values()
    assert event["delivery_id"] in delivery_ids
    assert event["event"]["kind"] == "created" and event["ticket"]["id"] == ticket["id"]
    for headers, body in receiver.requests:
        assert headers["x-whistle-event"] == "created"
        assert headers["content-type"] == "application/json"
        assert verify_signature(sub["secret"], headers["x-whistle-timestamp"], body,
                                headers["x-whistle-signature"])
    assert [int(h["x-whistle-timestamp"]) for h, _ in receiver.requests] == [
        int((clock.now() - timedelta(hours=2) - d).timestamp())
        for d in (timedelta(seconds=30), timedelta(seconds=20), timedelta(0))]

    log = (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries",
                            headers=token_for("cgzf_lead"))).json()
    assert [(d["attempt"], d["status_code"], d["error"]) for d in log] == [
        (3, 204, None), (2, 503, "HTTP 503"), (1, 503, "HTTP 503")]
    assert {d["message_status"] for d in log} == {"delivered"}
    assert {d["delivery_id"] for d in log} == delivery_ids


async def test_a_message_is_given_up_after_the_last_attempt(client, token_for, sessions,
                                                            matrix_items, clock, deliver_now):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    await client.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                      json={"url": "http://receiver.invalid/hook"})
    ticket = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert await deliver_now(http) == 1
            clock.advance(backoff(attempt))
        assert await deliver_now(http) == 0
    async with sessions() as session:
        message = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.ticket_id == ticket["id"]))).scalar_one()
        attempts = (await session.execute(select(WebhookDelivery).where(
            WebhookDelivery.outbox_id == message.id))).scalars().all()
    assert message.status == "dead" and message.attempts == MAX_ATTEMPTS
    assert message.last_error.startswith("ConnectError")
    assert len(attempts) == MAX_ATTEMPTS
    assert {a.status_code for a in attempts} == {None}


async def test_a_worker_that_dies_mid_send_leaves_the_message_to_be_retried(
        client, token_for, sessions, matrix_items, clock, deliver_now):
    await client.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                      json={"url": "http://receiver.invalid/hook"})
    await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))

    sending = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        sending.set()
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    seen: list[str] = []

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-Whistle-Delivery"])
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as http:
        worker = asyncio.create_task(deliver_now(http))
        await sending.wait()
        worker.cancel()  # the worker process dies while the request is in flight
        with pytest.raises(asyncio.CancelledError):
            await worker
    async with httpx.AsyncClient(transport=httpx.MockTransport(accept)) as http:
        assert await deliver_now(http) == 0  # leased
        clock.advance(timedelta(minutes=5))
        assert await deliver_now(http) == 1
    assert len(seen) == 1


async def test_concurrent_workers_send_each_message_once(
        client, token_for, sessions, matrix_items, clock, settings, deliver_now):
    await client.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                      json={"url": "http://receiver.invalid/hook"})
    for _ in range(12):
        await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    seen: list[str] = []

    async def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-Whistle-Delivery"])
        await asyncio.sleep(0.01)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(accept)) as http:
        counts = await asyncio.gather(*(
            deliver_now(http, batch=5)
            for _ in range(4)))
        assert sum(counts) == len(seen) == len(set(seen))
        await run_deliveries_once(sessions, clock.now(), settings=settings, http=http)
    assert len(seen) == len(set(seen)) == 12
