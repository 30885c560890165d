"""GET /ticket-requests: the extension and suspension requests a dispatcher has to decide,
only for tickets the caller can see."""

from __future__ import annotations

import pytest

from tests.sla.support import act, post, street_item_of

pytestmark = pytest.mark.usefixtures("reference")


async def _requests(client, token_for, user: str, **params) -> list[dict]:
    r = await client.get("/api/v1/ticket-requests", params=params, headers=token_for(user))
    assert r.status_code == 200, r.text
    return r.json()


async def test_pending_requests_are_listed_in_scope_until_decided(client, token_for, matrix_items):
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    tid = ticket["id"]
    await act(client, token_for, "cgzf_staff", tid, "claim")
    await act(client, token_for, "cgzf_staff", tid, "request-extension",
              {"minutes": 120, "reason": "需等待材料"})
    await act(client, token_for, "cgzf_staff", tid, "request-suspension", {"reason": "等待业主"})

    [extension] = [r for r in await _requests(client, token_for, "sd", kind="extension", ticket_id=tid)
                   if r["ticket_id"] == tid]
    assert extension["minutes"] == 120 and extension["reason"] == "需等待材料"
    assert extension["ticket_number"] == ticket["number"] and extension["status"] == "pending"
    assert {r["kind"] for r in await _requests(client, token_for, "cd01", ticket_id=tid)
            if r["ticket_id"] == tid} == {"extension", "suspension"}
    # Another community's dispatcher and grid worker do not see this ticket's requests.
    for outsider in ("cd02", "gw02"):
        assert all(r["ticket_id"] != tid for r in await _requests(client, token_for, outsider))

    await act(client, token_for, "sd", tid, "decide-extension", {"approve": True, "note": "同意"})
    # One ticket's requests (the suite leaves other tickets' requests pending before it).
    assert [r["kind"] for r in await _requests(client, token_for, "sd", ticket_id=tid)
            ] == ["suspension"]
    [approved] = [r for r in await _requests(client, token_for, "sd", status="approved", ticket_id=tid)
                  if r["ticket_id"] == tid]
    assert approved["note"] == "同意" and approved["decided_at"] is not None


async def test_a_bad_status_is_422(client, token_for):
    r = await client.get("/api/v1/ticket-requests?status=maybe", headers=token_for("sd"))
    assert r.status_code == 422


async def test_a_long_backlog_is_read_to_its_end_page_by_page(client, token_for, matrix_items):
    asked = []
    for _ in range(5):
        ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
        await act(client, token_for, "cgzf_staff", ticket["id"], "claim")
        await act(client, token_for, "cgzf_staff", ticket["id"], "request-suspension",
                  {"reason": "等待业主"})
        asked.append(ticket["id"])
    everything = await _requests(client, token_for, "sd", limit=200)
    pages, after = [], None
    for _ in range(len(everything)):  # bounded: an ignored `after` would repeat page one
        page = await _requests(client, token_for, "sd", limit=2,
                               **({"after": after} if after else {}))
        if not page:
            break
        pages += page
        after = page[-1]["id"]
    assert [r["id"] for r in pages][:len(everything)] == [r["id"] for r in everything]
    assert [r["ticket_id"] for r in pages if r["ticket_id"] in asked] == asked
