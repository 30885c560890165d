"""GET /departments/{code}/staff: a department's people and what each holds, for its lead
(转交 needs to know to whom) and admins."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("reference")
URL = "/api/v1/departments/{}/staff"


async def _in_hand(client, token_for, username: str) -> int:
    me = (await client.get("/api/v1/auth/me", headers=token_for(username))).json()["id"]
    people = (await client.get(URL.format("CGZF"), headers=token_for("cgzf_lead"))).json()
    return next(p["in_hand"] for p in people if p["id"] == me)


async def test_a_lead_sees_each_staff_members_load_and_a_claim_adds_to_it(client, token_for):
    r = await client.get(URL.format("CGZF"), headers=token_for("cgzf_lead"))
    assert r.status_code == 200, r.text
    assert {p["role"] for p in r.json()} <= {"department_staff", "department_lead"}
    before = await _in_hand(client, token_for, "cgzf_staff")
    posted = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0201", "description": "违法搭建（在办统计）"})
    assert posted.json()["department"] == "CGZF", posted.text
    claimed = await client.post(f"/api/v1/tickets/{posted.json()['id']}/claim",
                                headers=token_for("cgzf_staff"))
    assert claimed.status_code == 200, claimed.text
    assert await _in_hand(client, token_for, "cgzf_staff") == before + 1
    counts = [p["in_hand"] for p in r.json()]
    assert counts == sorted(counts, reverse=True)  # busiest first


async def test_another_departments_lead_is_told_it_does_not_exist(client, token_for):
    other = await client.get(URL.format("CGZF"), headers=token_for("hw_lead"))
    absent = await client.get(URL.format("NOPE"), headers=token_for("hw_lead"))
    assert other.status_code == absent.status_code == 404
    assert other.json()["title"] == absent.json()["title"]
    assert (await client.get(URL.format("HW"), headers=token_for("hw_lead"))).status_code == 200


async def test_staff_and_dispatchers_may_not_list_people(client, token_for):
    for username in ("cgzf_staff", "sd", "gw01"):
        r = await client.get(URL.format("CGZF"), headers=token_for(username))
        assert r.status_code == 403, (username, r.text)
