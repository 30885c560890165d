"""吹哨报到 by hand: the street dispatcher summons departments, each reports in once, on time
or late; only summoned departments may report in; whistles are listed within scope."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.sla.support import act, event_kinds, post, street_item_of

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
async def street_ticket(client, token_for, matrix_items) -> dict:
    return await post(client, token_for, street_item_of(matrix_items, "CGZF"))


async def test_blowing_summons_the_named_departments_once(client, token_for, street_ticket):
    tid = street_ticket["id"]
    await act(client, token_for, "sd", tid, "whistle",
              {"departments": ["HW"], "minutes": 20, "reason": "联合执法"})
    again = await act(client, token_for, "sd", tid, "whistle", {"departments": ["HW"]},
                      expect=409)
    assert "already has an open whistle" in again["detail"]
    page = (await client.get("/api/v1/whistles", params={"ticket_id": tid, "state": "open"},
                             headers=token_for("sd"))).json()
    assert page["total"] == 1
    whistle = page["items"][0]
    assert (whistle["auto"], whistle["blown_by"], whistle["summoned"]) == (False, "sd", 1)


async def test_an_unknown_department_is_named_in_the_error(client, token_for, street_ticket):
    r = await act(client, token_for, "sd", street_ticket["id"], "whistle",
                  {"departments": ["HW", "NOPE"]}, expect=422)
    assert r["errors"][0]["loc"] == ["body", "departments", 1]


async def test_only_the_street_dispatcher_blows(client, token_for, street_ticket):
    await act(client, token_for, "cd01", street_ticket["id"], "whistle", {}, expect=403)


async def test_report_in_on_time_late_and_by_strangers(client, token_for, clock, sessions,
                                                       street_ticket):
    tid = street_ticket["id"]
    await act(client, token_for, "sd", tid, "whistle", {"departments": ["HW"], "minutes": 30})
    # CGZF holds the ticket but was not summoned: it sees the ticket, may not report in —
    # not now (409: a department's part in a whistle comes with being summoned).
    refused = await act(client, token_for, "cgzf_staff", tid, "report-in", expect=409)
    assert "not summoned" in refused["detail"]
    clock.advance(timedelta(minutes=45))
    late = await act(client, token_for, "hw_lead", tid, "report-in")
    assert late["id"] == tid
    await act(client, token_for, "hw_staff", tid, "report-in", expect=409)
    whistle_id = (await client.get("/api/v1/whistles", params={"ticket_id": tid},
                                   headers=token_for("hw_staff"))).json()["items"][0]["id"]
    detail = (await client.get(f"/api/v1/whistles/{whistle_id}",
                               headers=token_for("hw_staff"))).json()
    assert detail["summons"][0]["on_time"] is False
    assert detail["summons"][0]["reported_by"] == "hw_lead"
    assert (await event_kinds(sessions, tid))[-2:] == ["whistle_blown", "reported_in"]


async def test_a_department_never_summoned_cannot_see_or_report_in(client, token_for,
                                                                   matrix_items):
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    await act(client, token_for, "sd", ticket["id"], "whistle", {"departments": ["CGZF"]})
    await act(client, token_for, "hw_staff", ticket["id"], "report-in", expect=404)
    page = (await client.get("/api/v1/whistles", params={"ticket_id": ticket["id"]},
                             headers=token_for("hw_staff"))).json()
    assert page["total"] == 0


async def test_whistles_are_listed_within_scope(client, token_for, street_ticket):
    await act(client, token_for, "sd", street_ticket["id"], "whistle", {"departments": ["HW"]})
    params = {"ticket_id": street_ticket["id"]}
    for user, seen in (("sd", 1), ("sup_bh", 1), ("admin", 1), ("cd02", 0), ("gw02", 0)):
        page = (await client.get("/api/v1/whistles", params=params,
                                 headers=token_for(user))).json()
        assert page["total"] == seen, user
    r = await client.get("/api/v1/whistles/999999", headers=token_for("sd"))
    assert r.status_code == 404


async def test_a_whistle_closes_with_its_case(client, token_for, street_ticket):
    tid = street_ticket["id"]
    await act(client, token_for, "sd", tid, "whistle", {"departments": ["HW"]})
    await act(client, token_for, "sd", tid, "cancel", {"reason": "重复上报"})
    page = (await client.get("/api/v1/whistles", params={"ticket_id": tid, "state": "closed"},
                             headers=token_for("sd"))).json()
    assert page["total"] == 1 and page["items"][0]["closed_at"] is not None
