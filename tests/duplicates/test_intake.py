"""POST /tickets answers ``possible_duplicates``: open tickets of the same item within the
radius, posted within the period, that the poster may read, nearest first, at most 5, with
reporters masked as everywhere; one extra query, and only when the post has a location.
GET /tickets/nearby makes the same check before posting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app.jurisdiction.coordinates import CoordinateSystem, from_wgs84, to_wgs84
from app.tickets.models import Ticket
from tests.conftest import T0
from tests.duplicates.support import border_point, moved, post

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture(scope="module")
def items(matrix_items) -> list[str]:
    """Street-level items no other test posts with a location (0202 is the usual one)."""
    return sorted(code for code, item in matrix_items.items()
                  if item.handling_level == "street" and code != "0202")


def mine(answer: dict, *tickets: dict) -> list[int]:
    ids = {t["id"] for t in tickets}
    return [d["id"] for d in answer["possible_duplicates"] if d["id"] in ids]


async def test_open_tickets_of_the_item_nearby_are_listed_nearest_first(
        client, token_for, items, clock):
    sd = token_for("sd")
    here = moved(border_point(), east_m=-30)  # in BH01-02
    item, other_item = items[0], items[1]
    far = await post(client, sd, item, moved(here, east_m=-60))
    near = await post(client, sd, item, moved(here, along_m=20))
    beyond = await post(client, sd, item, moved(here, along_m=-130))
    other = await post(client, sd, other_item, moved(here, along_m=5))
    cancelled = await post(client, sd, item, moved(here, along_m=-10))
    r = await client.post(f"/api/v1/tickets/{cancelled['id']}/cancel",
                          json={"reason": "重复上报"}, headers=sd)
    assert r.status_code == 200, r.text
    clock.set(T0 - timedelta(days=8))
    stale = await post(client, sd, item, moved(here, east_m=10))
    clock.set(T0)

    new = await post(client, sd, item, here)
    assert mine(new, far, near, beyond, other, cancelled, stale) == [near["id"], far["id"]]
    first, second = (d for d in new["possible_duplicates"] if d["id"] in (near["id"], far["id"]))
    assert first["distance_m"] == pytest.approx(20, abs=0.5)
    assert second["distance_m"] == pytest.approx(60, abs=0.5)
    assert (first["number"], first["item"], first["grid"], first["status"]) == (
        near["number"], item, "BH01-02", "dispatched")
    assert first["location"] == near["location"]
    assert first["description"] == near["description"]


async def test_at_most_five_the_nearest(client, token_for, items):
    sd = token_for("sd")
    here = moved(border_point(), east_m=-40)
    posted = [await post(client, sd, items[2], moved(here, along_m=10 * (i + 1)))
              for i in range(7)]
    new = await post(client, sd, items[2], here)
    assert len(new["possible_duplicates"]) == 5
    assert [d["id"] for d in new["possible_duplicates"]] == [t["id"] for t in posted[:5]]


async def test_only_what_the_poster_may_read_with_reporters_masked(client, token_for, items):
    item = items[3]
    border = border_point()
    west, east = moved(border, east_m=-25), moved(border, east_m=25)  # BH01-02 | BH02-01
    reporter = {"name": "王小明", "phone": "13812341234"}
    theirs = await post(client, token_for("gw02"), item, east, reporter=reporter)
    ours = await post(client, token_for("gw01"), item, moved(west, along_m=10),
                      reporter=reporter)
    assert (theirs["grid"], ours["grid"]) == ("BH02-01", "BH01-02")

    by_grid_worker = await post(client, token_for("gw01"), item, west)
    assert mine(by_grid_worker, theirs, ours) == [ours["id"]]  # BH02-01 is not gw01's
    (listed,) = [d for d in by_grid_worker["possible_duplicates"] if d["id"] == ours["id"]]
    assert listed["reporter"] == {"name": "王**", "phone": "138****1234", "masked": True}

    by_street = await post(client, token_for("sd"), item, west)
    assert mine(by_street, theirs, ours, by_grid_worker) == [
        by_grid_worker["id"], ours["id"], theirs["id"]]
    (listed,) = [d for d in by_street["possible_duplicates"] if d["id"] == theirs["id"]]
    assert listed["reporter"] == reporter | {"masked": False}


async def test_a_post_without_a_location_gets_none(client, token_for, items):
    sd = token_for("sd")
    here = moved(border_point(), east_m=-30)
    await post(client, sd, items[4], here)
    r = await client.post("/api/v1/tickets", headers=sd, json={
        "item": items[4], "grid": "BH01-02", "description": "同一地点又发现"})
    assert r.status_code == 201 and r.json()["possible_duplicates"] == []


async def test_an_idempotent_retry_answers_them_too(client, token_for, items):
    sd = token_for("sd")
    here = moved(border_point(), east_m=-30)
    earlier = await post(client, sd, items[5], moved(here, along_m=15))
    body = {"item": items[5], "location": {"lat": here[0], "lon": here[1]},
            "description": "重试的上报"}
    headers = sd | {"Idempotency-Key": f"dup-retry-{earlier['id']}"}
    first = await client.post("/api/v1/tickets", json=body, headers=headers)
    again = await client.post("/api/v1/tickets", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert mine(first.json(), earlier) == mine(again.json(), earlier) == [earlier["id"]]
    assert first.json()["id"] not in [d["id"] for d in again.json()["possible_duplicates"]]


async def test_the_check_is_one_query_and_only_with_a_location(app, client, token_for, items):
    sd = token_for("sd")
    here = moved(border_point(), east_m=-30)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await post(client, sd, items[6], here)  # warms the caches
        statements.clear()
        await client.post("/api/v1/tickets", headers=sd, json={
            "item": items[6], "grid": "BH01-02", "description": "按网格上报"})
        by_grid = len(statements)
        statements.clear()
        await post(client, sd, items[6], moved(here, along_m=5))
        by_location = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert by_location == by_grid + 1
    assert sum("item_code" in s and "BETWEEN" in s.upper() for s in statements) == 1


async def test_the_radius_and_period_are_settings(client, token_for, items, settings,
                                                  monkeypatch, clock):
    sd = token_for("sd")
    here = moved(border_point(), east_m=-30)
    at_150 = await post(client, sd, items[7], moved(here, along_m=150))
    clock.set(T0 - timedelta(days=10))
    old = await post(client, sd, items[7], moved(here, along_m=-20))
    clock.set(T0)
    assert mine(await post(client, sd, items[7], here), at_150, old) == []
    monkeypatch.setattr(settings, "duplicate_radius_m", 200.0)
    monkeypatch.setattr(settings, "duplicate_days", 14)
    assert mine(await post(client, sd, items[7], here), at_150, old) == [old["id"], at_150["id"]]


async def test_before_posting_the_same_check_without_a_ticket(client, token_for, items,
                                                              sessions):
    sd = token_for("sd")
    here = moved(border_point(), east_m=-30)
    near = await post(client, sd, items[8], moved(here, along_m=30))
    nearer = await post(client, sd, items[8], moved(here, east_m=-10))
    async with sessions() as s:
        before = (await s.execute(select(func.count()).select_from(Ticket))).scalar_one()
    gcj = from_wgs84(*here, CoordinateSystem.gcj02)
    r = await client.get("/api/v1/tickets/nearby", headers=sd, params={
        "item": items[8], "lat": gcj[0], "lon": gcj[1], "coordinate_system": "gcj02"})
    assert r.status_code == 200, r.text
    assert [d["id"] for d in r.json() if d["id"] in (near["id"], nearer["id"])] == [
        nearer["id"], near["id"]]
    assert r.json()[0]["distance_m"] == pytest.approx(10, abs=0.5)
    shown = r.json()[0]["location"]
    assert shown["coordinate_system"] == "gcj02"
    assert to_wgs84(shown["lat"], shown["lon"], CoordinateSystem.gcj02) == pytest.approx(
        (nearer["location"]["lat"], nearer["location"]["lon"]), abs=1e-8)
    async with sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == before
    bad = await client.get("/api/v1/tickets/nearby", headers=sd,
                           params={"item": items[8], "lat": 38.9})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "lon"]
