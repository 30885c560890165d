"""A timeline's service-written reasons read in the caller's language; people's own words
stay as written."""

from __future__ import annotations

import time


async def test_a_routing_reason_in_the_timeline_follows_accept_language(client, token_for):
    headers = token_for("gw01")
    posted = await client.post("/api/v1/tickets", headers=headers, json={
        "grid": "BH01-01", "description": f"这里有个问题，麻烦看一下 {time.time_ns()}"})
    assert posted.status_code == 201, posted.text
    path = f"/api/v1/tickets/{posted.json()['id']}/events"

    english = (await client.get(path, headers=headers)).json()[0]["data"]["reason"]
    chinese = (await client.get(path, headers={**headers, "Accept-Language": "zh-CN"}))
    chinese_reason = chinese.json()[0]["data"]["reason"]

    assert english.startswith("awaiting triage")
    assert chinese_reason.startswith("待分拨：") and "awaiting" not in chinese_reason
    ticket = await client.get(f"/api/v1/tickets/{posted.json()['id']}",
                              headers={**headers, "Accept-Language": "zh-CN"})
    assert ticket.json()["routing_reason"] == chinese_reason  # the same words as the ticket's


async def test_a_reason_someone_wrote_is_shown_as_written(client, token_for):
    posted = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0202", "description": "垃圾"})
    ticket_id = posted.json()["id"]
    staff = token_for({"CGZF": "cgzf_staff", "HW": "hw_staff"}[posted.json()["department"]])
    claimed = await client.post(f"/api/v1/tickets/{ticket_id}/claim", headers=staff)
    assert claimed.status_code == 200, claimed.text
    returned = await client.post(f"/api/v1/tickets/{ticket_id}/return", headers=staff,
                                 json={"reason": "not ours: the sanitation office's"})
    assert returned.status_code == 200, returned.text
    events = (await client.get(f"/api/v1/tickets/{ticket_id}/events",
                               headers={**staff, "Accept-Language": "zh-CN"})).json()
    assert events[-1]["data"]["reason"] == "not ours: the sanitation office's"
