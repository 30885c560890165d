"""Webhooks cannot be pointed into the service's own machine or its cloud's metadata
service (SSRF): refused when subscribing to a literal address, and at delivery for names
that resolve there."""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_network

import httpx
import pytest
from sqlalchemy import insert, select

from app.config import DEFAULT_BLOCKED_NETWORKS
from app.db import unit_of_work
from app.jurisdiction.models import Department
from app.webhooks.delivery import deliver_due
from app.webhooks.models import OutboxMessage, WebhookDelivery, WebhookSubscription
from app.webhooks.sealing import keys_of, seal
from app.webhooks.targets import BlockedTarget, Target, check_literal, resolve
from tests.live.serving import serve
from tests.webhooks.test_delivery import FlakyReceiver
from tests.webhooks.test_subscriptions import item_of, post_ticket

pytestmark = pytest.mark.usefixtures("reference", "only_this_tests_messages")

DEFAULT = [ip_network(n) for n in DEFAULT_BLOCKED_NETWORKS]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:5432/", "http://[::1]/hook", "http://localhost:8000/hook",
    "http://api.localhost/hook", "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/", "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0:6379/", "http://[fe80::1]/hook",
])
def test_a_subscription_to_a_blocked_address_is_refused(url):
    with pytest.raises(BlockedTarget):
        check_literal(url, DEFAULT)


@pytest.mark.parametrize("url", [
    "https://cgzf.example.gov.cn/whistle", "http://10.20.30.40:8080/hook",
    "http://192.168.1.5/hook", "https://[2001:db8::1]/hook",
])
def test_names_and_intranet_addresses_are_allowed_when_subscribing(url):
    check_literal(url, DEFAULT)


async def test_a_name_that_resolves_into_a_blocked_network_is_refused_at_delivery():
    with pytest.raises(BlockedTarget, match="127.0.0.1|::1"):
        await resolve("http://localhost:8000/hook", DEFAULT)


async def test_delivery_goes_to_the_checked_addresses_and_names_the_host():
    target = await resolve("https://localhost:8443/hook?a=1", [ip_network("10.0.0.0/8")])
    assert {u.host for u in target.urls} <= {"127.0.0.1", "::1"} and target.urls
    for url in target.urls:
        assert (url.port, url.path, url.query) == (8443, "/hook", b"a=1")
    assert target.headers == {"Host": "localhost:8443"}
    assert target.extensions == {"sni_hostname": "localhost"}
    unchecked = await resolve("http://receiver.invalid/hook", [])
    assert [str(u) for u in unchecked.urls] == ["http://receiver.invalid/hook"]
    assert not unchecked.headers


async def test_an_address_that_refuses_the_connection_falls_through_to_the_next():
    # A dual-stack name whose server listens on one family only still gets its delivery.
    tried: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        tried.append(request.url.host)
        if request.url.host == "::1":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(204)

    target = Target((httpx.URL("http://[::1]:80/hook"), httpx.URL("http://127.0.0.1:80/hook")),
                    {"Host": "receiver.example"})
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        response = await target.post(http, content=b"{}")
    assert response.status_code == 204 and tried == ["::1", "127.0.0.1"]
    assert response.request.headers["host"] == "receiver.example"


async def test_the_api_refuses_a_metadata_url_with_a_422_on_the_field(settings, clock,
                                                                      token_for):
    from app.main import create_app

    app = create_app(settings.model_copy(update={"webhook_blocked_networks": DEFAULT}),
                     clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as c:
            r = await c.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                             json={"url": "http://169.254.169.254/latest/meta-data/"})
    finally:
        await app.state.engine.dispose()
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "url"]
    assert "169.254.0.0/16" in r.json()["errors"][0]["msg"]


async def test_the_worker_sends_nothing_to_a_blocked_address_and_logs_why(
        settings, sessions, client, token_for, matrix_items, clock):
    # A subscription by a name that resolves to loopback: the worker's pass, with the
    # deployment's settings, refuses it at delivery; allowed, the same message goes out to
    # the checked address with the name as Host.
    from app.sla.commands import run_pass

    receiver = FlakyReceiver(failures=0)
    async with serve(receiver.app, lifespan="off") as base:
        named = base.replace("127.0.0.1", "localhost")
        async with unit_of_work(sessions) as session:
            cgzf = (await session.execute(
                select(Department.id).where(Department.code == "CGZF"))).scalar_one()
            sub_id = (await session.execute(insert(WebhookSubscription).values(
                department_id=cgzf, url=f"{named}/hook",
                secret=seal("whsec_test", keys_of(settings)),
                event_types=["created"], is_active=True, created_at=clock.now())
                .returning(WebhookSubscription.id))).scalar_one()
        await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
        blocking = settings.model_copy(update={"webhook_blocked_networks": DEFAULT})
        *_, attempts = await run_pass(sessions=sessions, settings=blocking, clock=clock)
        assert attempts == 1 and receiver.requests == []
        clock.advance(timedelta(seconds=10))
        async with httpx.AsyncClient() as http:
            intranet_blocked = settings.model_copy(
                update={"webhook_blocked_networks": [ip_network("10.0.0.0/8")]})
            assert await deliver_due(sessions=sessions, http=http, now=clock.now(),
                                     settings=intranet_blocked) == 1
    assert [h["host"] for h, _ in receiver.requests] == [named.removeprefix("http://")]
    async with sessions() as session:
        errors = (await session.execute(
            select(WebhookDelivery.error).join(OutboxMessage)
            .where(OutboxMessage.subscription_id == sub_id)
            .order_by(WebhookDelivery.attempt))).scalars().all()
    assert len(errors) == 2 and errors[1] is None
    assert errors[0].startswith("BlockedTarget: ") and "blocked network" in errors[0]
