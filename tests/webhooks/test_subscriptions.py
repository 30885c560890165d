"""Webhook subscriptions through HTTP: who may subscribe to what, and what the outbox gets."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, update

from app.db import unit_of_work
from app.tickets.events import record_event
from app.webhooks.models import OutboxMessage, WebhookSubscription

pytestmark = pytest.mark.usefixtures("reference")

URL = "https://dept.example/hooks/whistle"


@pytest.fixture(autouse=True)
async def _no_subscriptions_left_behind(sessions):
    # Subscriptions are global state: each test starts and ends with none active.
    yield
    async with unit_of_work(sessions) as session:
        await session.execute(update(WebhookSubscription).values(is_active=False))


def item_of(matrix_items, department: str) -> str:
    return next(code for code, item in sorted(matrix_items.items())
                if item.handling_level == "street" and item.primary_department == department
                and not item.self_handle_allowed)


async def post_ticket(client, token_for, item: str) -> dict:
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": item, "description": "占道经营，影响通行"})
    assert r.status_code == 201, r.text
    return r.json()


async def subscribe(client, headers, **body) -> dict:
    r = await client.post("/api/v1/webhooks", headers=headers, json={"url": URL} | body)
    assert r.status_code == 201, r.text
    return r.json()


async def outbox_of(sessions, ticket_id: int) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.subscription_id, OutboxMessage.event_kind)
            .where(OutboxMessage.ticket_id == ticket_id).order_by(OutboxMessage.id))
        return [tuple(r) for r in rows]


async def test_a_lead_subscribes_their_department_and_sees_the_secret_once(client, token_for):
    lead = token_for("cgzf_lead")
    created = await subscribe(client, lead, event_types=["claim", "created", "claim"])
    assert created["department"] == "CGZF" and created["url"] == URL
    assert created["event_types"] == ["claim", "created"]
    assert created["secret"].startswith("whsec_")
    listed = (await client.get("/api/v1/webhooks", headers=lead)).json()
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]


async def test_only_leads_and_admins_manage_webhooks(client, token_for):
    for user in ("cgzf_staff", "gw01", "sd"):
        r = await client.post("/api/v1/webhooks", headers=token_for(user), json={"url": URL})
        assert r.status_code == 403, user
        assert (await client.get("/api/v1/webhooks", headers=token_for(user))).status_code == 403


async def test_a_lead_may_not_subscribe_another_department(client, token_for):
    r = await client.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                          json={"url": URL, "department": "HW"})
    assert r.status_code == 403
    assert "CGZF" in r.json()["detail"]


async def test_other_departments_subscriptions_are_not_found(client, token_for):
    created = await subscribe(client, token_for("cgzf_lead"))
    other = token_for("hw_lead")
    assert (await client.get("/api/v1/webhooks", headers=other)).json() == []
    for method, path in (("DELETE", f"/api/v1/webhooks/{created['id']}"),
                         ("GET", f"/api/v1/webhooks/{created['id']}/deliveries")):
        r = await client.request(method, path, headers=other)
        assert r.status_code == 404, (method, path)
        assert r.headers["content-type"] == "application/problem+json"
    # an admin sees every department's subscriptions
    listed = (await client.get("/api/v1/webhooks", headers=token_for("admin"))).json()
    assert created["id"] in [w["id"] for w in listed]


@pytest.mark.parametrize(("body", "loc"), [
    ({"url": "ftp://dept.example/x"}, ["body", "url"]),
    ({"url": "not a url"}, ["body", "url"]),
    ({"url": "https://"}, ["body", "url"]),
    ({"url": URL, "event_types": ["claim", "clam"]}, ["body", "event_types"]),
    ({"url": URL, "department": "NOPE"}, ["body", "department"]),
])
async def test_bad_subscriptions_are_refused_naming_the_field(client, token_for, body, loc):
    r = await client.post("/api/v1/webhooks", headers=token_for("admin"), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc


async def test_the_outbox_follows_department_and_event_type(client, token_for, sessions,
                                                            matrix_items):
    cgzf_claims = await subscribe(client, token_for("cgzf_lead"), event_types=["claim"])
    hw_all = await subscribe(client, token_for("hw_lead"))
    everyone_created = await subscribe(client, token_for("admin"), event_types=["created"])
    ticket = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    assert ticket["department"] == "CGZF"
    assert await outbox_of(sessions, ticket["id"]) == [(everyone_created["id"], "created")]

    r = await client.post(f"/api/v1/tickets/{ticket['id']}/claim",
                          headers=token_for("cgzf_staff"))
    assert r.status_code == 200, r.text
    assert await outbox_of(sessions, ticket["id"]) == [
        (everyone_created["id"], "created"), (cgzf_claims["id"], "claim")]
    assert hw_all["id"] not in {s for s, _ in await outbox_of(sessions, ticket["id"])}


async def test_a_summoned_department_gets_the_whistle(client, token_for, sessions,
                                                      matrix_items):
    hw_whistles = await subscribe(client, token_for("hw_lead"), event_types=["whistle_blown"])
    ticket = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    r = await client.post(f"/api/v1/tickets/{ticket['id']}/whistle", headers=token_for("sd"),
                          json={"departments": ["HW"], "reason": "需要环卫配合清运"})
    assert r.status_code == 200, r.text
    assert await outbox_of(sessions, ticket["id"]) == [(hw_whistles["id"], "whistle_blown")]


async def test_the_message_body_is_fixed_when_the_event_happens(client, token_for, sessions,
                                                                matrix_items, clock):
    sub = await subscribe(client, token_for("cgzf_lead"), event_types=["created"])
    ticket = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    async with sessions() as session:
        message = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.subscription_id == sub["id"]))).scalar_one()
    body = message.payload
    assert body["delivery_id"] == message.delivery_id
    assert body["event"]["kind"] == "created" and body["event"]["ticket_id"] == ticket["id"]
    assert body["event"]["created_at"] == clock.now().isoformat()
    assert body["ticket"]["number"] == ticket["number"]
    assert body["ticket"]["department"] == "CGZF" and body["ticket"]["status"] == "dispatched"
    assert message.status == "pending" and message.attempts == 0
    assert message.next_attempt_at == clock.now()


async def test_a_rolled_back_change_leaves_no_outbox_row(client, token_for, sessions,
                                                         matrix_items, clock):
    await subscribe(client, token_for("cgzf_lead"))
    ticket = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    before = await outbox_of(sessions, ticket["id"])
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as session:
            await record_event(session, ticket_id=ticket["id"], kind="note", actor=None,
                               at=clock.now(), data={"result": "x"})
            assert len(await outbox_of_in(session, ticket["id"])) == len(before) + 1
            raise RuntimeError("the change fails after its event was written")
    assert await outbox_of(sessions, ticket["id"]) == before


async def outbox_of_in(session, ticket_id: int) -> list:
    return list((await session.execute(select(OutboxMessage.id).where(
        OutboxMessage.ticket_id == ticket_id))).scalars())


async def test_deleting_stops_the_subscription_and_gives_up_pending_messages(
        client, token_for, sessions, matrix_items):
    lead = token_for("cgzf_lead")
    sub = await subscribe(client, lead)
    await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    r = await client.delete(f"/api/v1/webhooks/{sub['id']}", headers=lead)
    assert r.status_code == 204
    assert (await client.get("/api/v1/webhooks", headers=lead)).json() == []
    async with sessions() as session:
        messages = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.subscription_id == sub["id"]))).scalars().all()
    assert messages and {(m.status, m.last_error) for m in messages} == {
        ("dead", "subscription deleted")}
    # nothing more is queued for it
    ticket = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    assert sub["id"] not in {s for s, _ in await outbox_of(sessions, ticket["id"])}


async def test_claim_next_reaches_the_subscribers_of_its_department_only(
        client, token_for, matrix_items, sessions, clear_queues):
    # Claim-next asks, in its one statement, whether any subscription may want the event,
    # and skips the outbox's query when none can: a subscriber must still get it.
    await clear_queues()
    item = item_of(matrix_items, "CGZF")
    staff = token_for("cgzf_staff")
    other = await subscribe(client, token_for("hw_lead"), event_types=["claim"])
    unwanted = await post_ticket(client, token_for, item)
    r = await client.post("/api/v1/departments/CGZF/queue/claim-next", headers=staff)
    assert r.status_code == 200 and r.json()["id"] == unwanted["id"]
    assert await outbox_of(sessions, unwanted["id"]) == []

    own = await subscribe(client, token_for("cgzf_lead"), event_types=["claim"])
    everyone = await subscribe(client, token_for("admin"), event_types=["claim"])
    wanted = await post_ticket(client, token_for, item)
    r = await client.post("/api/v1/departments/CGZF/queue/claim-next", headers=staff)
    assert r.status_code == 200 and r.json()["id"] == wanted["id"]
    assert sorted(await outbox_of(sessions, wanted["id"])) == sorted(
        [(own["id"], "claim"), (everyone["id"], "claim")])
    assert other["id"] not in {s for s, _ in await outbox_of(sessions, wanted["id"])}


async def test_supervised_events_may_be_subscribed_to(client, token_for):
    # The sweep writes "supervised" (督办) and live queues show it: webhooks may want it too.
    created = await subscribe(client, token_for("cgzf_lead"), event_types=["supervised"])
    assert created["event_types"] == ["supervised"]


async def test_an_approved_extension_is_sent_with_the_new_deadline(client, token_for, sessions,
                                                                  matrix_items):
    # The outbox step runs after the deadlines step: the message carries the deadline the
    # approval left, not the one before it.
    await subscribe(client, token_for("cgzf_lead"), event_types=["approve_extension"])
    ticket = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    tid = ticket["id"]
    for user, path, body in (("cgzf_staff", "claim", None),
                             ("cgzf_staff", "request-extension",
                              {"minutes": 120, "reason": "需等待材料"}),
                             ("sd", "decide-extension", {"approve": True})):
        r = await client.post(f"/api/v1/tickets/{tid}/{path}", headers=token_for(user),
                              json=body)
        assert r.status_code == 200, r.text
    extended = r.json()["resolve_due_at"]
    assert extended != ticket["resolve_due_at"]
    async with sessions() as session:
        message = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.ticket_id == tid))).scalar_one()
    assert message.payload["event"]["kind"] == "approve_extension"
    sent = message.payload["ticket"]["resolve_due_at"]
    assert datetime.fromisoformat(sent) == datetime.fromisoformat(extended)
