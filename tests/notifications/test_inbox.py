"""Every user's inbox: listed with the unread count, marked read, chosen per kind and
channel (role defaults), and pushed live on a per-user stream."""

from __future__ import annotations

import json

import httpx
import pytest

from app.notifications import router as notifications_router
from tests.notifications.fakes import serve
from tests.sla.support import act, post, street_item_of

pytestmark = pytest.mark.usefixtures("reference")


async def _whistled(client, token_for, matrix_items) -> dict:
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    await act(client, token_for, "sd", ticket["id"], "whistle", {"departments": ["HW"]})
    return ticket


async def test_the_inbox_lists_counts_and_marks_read(client, token_for, matrix_items):
    me = token_for("hw_staff")
    await client.post("/api/v1/notifications/read", headers=me, json={})
    ticket = await _whistled(client, token_for, matrix_items)
    inbox = (await client.get("/api/v1/notifications", headers=me)).json()
    newest = inbox["items"][0]
    assert inbox["unread"] == 1 and newest["kind"] == "whistle"
    assert newest["ticket_id"] == ticket["id"] and newest["read_at"] is None
    assert newest["title"] == "吹哨报到" and ticket["number"] in newest["body"]
    await _whistled(client, token_for, matrix_items)
    marked = (await client.post("/api/v1/notifications/read", headers=me,
                                json={"ids": [newest["id"]]})).json()
    assert marked == {"marked": 1, "unread": 1}
    unread = (await client.get("/api/v1/notifications", params={"unread": True},
                               headers=me)).json()
    assert [n["id"] for n in unread["items"]] != [newest["id"]] and len(unread["items"]) == 1
    # Nobody marks another's notifications.
    other = (await client.post("/api/v1/notifications/read", headers=token_for("hw_lead"),
                               json={"ids": [unread["items"][0]["id"]]})).json()
    assert other["marked"] == 0
    assert (await client.post("/api/v1/notifications/read", headers=me, json={})).json() == {
        "marked": 1, "unread": 0}


async def test_preferences_have_role_defaults_and_an_opt_out_holds(client, token_for,
                                                                    matrix_items, inbox_of):
    lead, staff = token_for("cgzf_lead"), token_for("hw_staff")
    defaults = {(c["kind"], c["channel"]): c["enabled"] for c in (await client.get(
        "/api/v1/notifications/preferences", headers=lead)).json()["choices"]}
    assert defaults[("whistle", "sms")] and defaults[("sla_overdue", "sms")]
    assert not defaults[("new_ticket", "sms")] and defaults[("new_ticket", "inbox")]
    r = await client.put("/api/v1/notifications/preferences", headers=staff, json={
        "choices": [{"kind": "whistle", "channel": "inbox", "enabled": False}]})
    assert r.status_code == 200
    try:
        ticket = await _whistled(client, token_for, matrix_items)
        assert await inbox_of("hw_staff", ticket["id"]) == []
        assert len(await inbox_of("hw_lead", ticket["id"])) == 1
    finally:
        await client.put("/api/v1/notifications/preferences", headers=staff, json={
            "choices": [{"kind": "whistle", "channel": "inbox", "enabled": True}]})
    bad = await client.put("/api/v1/notifications/preferences", headers=staff, json={
        "choices": [{"kind": "gossip", "channel": "inbox", "enabled": True}]})
    assert bad.status_code == 422


async def test_new_notifications_are_pushed_on_the_users_stream(app, client, token_for,
                                                                matrix_items, monkeypatch):
    monkeypatch.setattr(notifications_router, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(notifications_router, "LIFETIME_SECONDS", 3.0)
    ticket_body = (await client.post("/api/v1/notifications/stream-ticket",
                                     headers=token_for("hw_lead"))).json()
    # A queue's stream ticket does not open the inbox, nor the other way round.
    queue_ticket = (await client.post("/api/v1/departments/HW/queue/stream-ticket",
                                      headers=token_for("hw_lead"))).json()["ticket"]
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        refused = await http.get("/api/v1/notifications/live",
                                 params={"ticket": queue_ticket})
        assert refused.status_code == 401
        events: list[dict] = []
        async with http.stream("GET", ticket_body["stream_url"]) as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith("retry:")
            ticket = await _whistled(client, token_for, matrix_items)
            async for line in lines:
                if line.startswith("data: ") and "reason" not in line:
                    events.append(json.loads(line.removeprefix("data: ")))
                    break
    assert events[0]["kind"] == "whistle" and events[0]["ticket_id"] == ticket["id"]


async def test_ids_beyond_64_bits_are_a_422_naming_the_field(client, token_for):
    huge = 2**63
    r = await client.get("/api/v1/notifications", params={"before": huge},
                         headers=token_for("hw_lead"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "before"]
    r = await client.post("/api/v1/notifications/read", json={"ids": [1, huge]},
                          headers=token_for("hw_lead"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][:2] == ["body", "ids"]


async def test_the_stream_opens_with_an_access_token_too(app, client, token_for, monkeypatch):
    monkeypatch.setattr(notifications_router, "LIFETIME_SECONDS", 0.2)
    async with (serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http,
                http.stream("GET", "/api/v1/notifications/live",
                            headers=token_for("hw_lead")) as stream):
        assert stream.status_code == 200
        assert (await anext(stream.aiter_lines())).startswith("retry:")
