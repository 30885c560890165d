"""Posting without an item: a confident suggestion routes the ticket and is recorded with
its score and model version; otherwise the ticket waits in a triage queue (待分拨; the
street's here, the community's in tests/suggest/test_community_triage.py)
until a dispatcher reroutes it, which is recorded as a correction."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("reference")

VAGUE = "这里有个问题，麻烦看一下"


async def post(client, headers, text, **extra):
    return await client.post("/api/v1/tickets", headers=headers,
                             json={"grid": "BH01-01", "description": text, **extra})


async def created_event(client, headers, ticket_id):
    events = (await client.get(f"/api/v1/tickets/{ticket_id}/events", headers=headers)).json()
    return next(e for e in events if e["kind"] == "created")


async def test_a_confident_suggestion_routes_the_post_and_is_recorded(client, token_for,
                                                                     matrix_items):
    headers = token_for("gw01")
    r = await post(client, headers, "人行道上井盖没了，晚上很危险")
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["item"] == "0219" and t["level"] == "street" and t["status"] == "dispatched"
    assert t["department"] == matrix_items["0219"].primary_department
    suggestion = (await created_event(client, headers, t["id"]))["data"]["suggestion"]
    assert suggestion["routed"] is True and suggestion["item"] == "0219"
    assert suggestion["score"] >= 0.4 and suggestion["model_version"].startswith("m")


async def test_an_unsure_post_waits_for_triage_and_a_reroute_routes_it(client, token_for,
                                                                       matrix_items):
    r = await post(client, token_for("gw01"), VAGUE)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["level"] == "street" and t["department"] is None and t["status"] == "dispatched"
    assert "待分拨" in t["routing_reason"]
    suggestion = (await created_event(client, token_for("sd"), t["id"]))["data"]["suggestion"]
    assert suggestion["routed"] is False and suggestion["score"] < 0.4

    queue = await client.get("/api/v1/jurisdictions/BH/triage", headers=token_for("sd"))
    assert queue.status_code == 200 and t["id"] in [q["id"] for q in queue.json()]
    # Nobody can claim it meanwhile: no department's queue holds it.
    claim = await client.post(f"/api/v1/tickets/{t['id']}/claim",
                              headers=token_for("cgzf_staff"))
    assert claim.status_code in (403, 404), claim.text

    target = "0227" if t["item"] != "0227" else "0202"
    rerouted = await client.post(f"/api/v1/tickets/{t['id']}/reroute", headers=token_for("sd"),
                                 json={"item": target, "reason": "楼道堆物"})
    assert rerouted.status_code == 200, rerouted.text
    assert rerouted.json()["item"] == target
    events = (await client.get(f"/api/v1/tickets/{t['id']}/events",
                               headers=token_for("sd"))).json()
    reroute = next(e for e in events if e["kind"] == "reroute")
    assert reroute["data"]["corrected_from"] == t["item"] and reroute["data"]["item"] == target
    queue = await client.get("/api/v1/jurisdictions/BH/triage", headers=token_for("sd"))
    assert t["id"] not in [q["id"] for q in queue.json()]


async def test_the_triage_queue_is_for_the_street_and_its_dispatchers(client, token_for):
    # A street or a community has one (tests/suggest/test_community_triage.py); a grid not.
    assert (await client.get("/api/v1/jurisdictions/BH01-01/triage",
                             headers=token_for("sd"))).status_code == 404
    assert (await client.get("/api/v1/jurisdictions/BH/triage",
                             headers=token_for("gw01"))).status_code == 403


async def test_handling_on_the_spot_needs_a_confident_item(client, token_for):
    r = await post(client, token_for("gw01"), VAGUE, self_handle=True)
    assert r.status_code == 422
    assert ["body", "item"] in [e["loc"] for e in r.json()["errors"]]


async def test_unreadable_text_still_lands_in_triage(client, token_for):
    r = await post(client, token_for("gw01"), "🙂🙂🙂")
    assert r.status_code == 201, r.text
    assert r.json()["department"] is None and "待分拨" in r.json()["routing_reason"]


async def test_a_reroute_to_the_same_item_is_no_correction(client, token_for):
    r = await post(client, token_for("gw01"), "路边垃圾堆了好几天", item="0202")
    t = r.json()
    rerouted = await client.post(f"/api/v1/tickets/{t['id']}/reroute", headers=token_for("sd"),
                                 json={"item": "0202"})
    assert rerouted.status_code == 200, rerouted.text
    events = (await client.get(f"/api/v1/tickets/{t['id']}/events",
                               headers=token_for("sd"))).json()
    assert "corrected_from" not in next(e for e in events if e["kind"] == "reroute")["data"]
