"""Locations in GCJ-02 (Gaode/Tencent) and BD-09 (Baidu) are stored as WGS-84 and land in
the right grid: posting, locating, Open311, and answers in the system asked for.

The point: WGS-84 (38.9190, 121.6193) lies in grid BH01-01 of the demo street, 54 m from
its border with BH01-02. A Gaode phone reports it as GCJ-02 (38.919783918721755,
121.62424740600822), a Baidu one as BD-09 (38.92543334476276, 121.63087789250721) — both
computed with the published formulas, and identical to 15 digits in the independent
``prcoords`` implementation. Read as WGS-84, the GCJ-02 figures fall 148 m inside
BH01-02 (the wrong grid worker's queue) and the BD-09 ones outside every grid.
"""

from __future__ import annotations

import uuid

import pytest

from app.jurisdiction.coordinates import distance_m

pytestmark = pytest.mark.usefixtures("reference")

WGS84 = (38.9190, 121.6193)
GCJ02 = (38.919783918721755, 121.62424740600822)
BD09 = (38.92543334476276, 121.63087789250721)


def body(location: dict) -> dict:
    return {"item": "0202", "location": location,
            "description": f"路边垃圾堆积 {uuid.uuid4().hex[:8]}"}


@pytest.mark.parametrize(("system", "point"), [("gcj02", GCJ02), ("bd09", BD09),
                                               ("wgs84", WGS84)])
async def test_a_post_in_any_system_lands_in_the_right_grid_and_stores_wgs84(
        client, token_for, system, point):
    location = {"lat": point[0], "lon": point[1], "coordinate_system": system}
    r = await client.post("/api/v1/tickets", json=body(location), headers=token_for("gw01"))
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["grid"] == "BH01-01"
    assert t["location"]["coordinate_system"] == "wgs84"
    assert distance_m(t["location"]["lat"], t["location"]["lon"], *WGS84) < 0.01
    stored = (await client.get(f"/api/v1/tickets/{t['id']}", headers=token_for("gw01"))).json()
    assert distance_m(stored["location"]["lat"], stored["location"]["lon"], *WGS84) < 0.01


async def test_without_a_system_the_location_is_wgs84(client, token_for):
    """The default: GCJ-02 figures sent without saying so are read as WGS-84 — and land in
    the neighbouring grid, which is why the web app and phone clients name their system."""
    location = {"lat": GCJ02[0], "lon": GCJ02[1]}
    r = await client.post("/api/v1/tickets", json=body(location), headers=token_for("gw01"))
    assert r.status_code == 201, r.text
    assert r.json()["grid"] == "BH01-02"
    assert (r.json()["location"]["lat"], r.json()["location"]["lon"]) == GCJ02


async def test_an_unknown_system_is_a_422_naming_the_field(client, token_for):
    location = {"lat": GCJ02[0], "lon": GCJ02[1], "coordinate_system": "cgcs2000"}
    r = await client.post("/api/v1/tickets", json=body(location), headers=token_for("gw01"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "location", "coordinate_system"]


async def test_a_ticket_is_answered_in_the_system_asked_for(client, token_for):
    location = {"lat": GCJ02[0], "lon": GCJ02[1], "coordinate_system": "gcj02"}
    t = (await client.post("/api/v1/tickets", json=body(location),
                           headers=token_for("gw01"))).json()
    for system, point in (("gcj02", GCJ02), ("bd09", BD09), ("wgs84", WGS84)):
        one = await client.get(f"/api/v1/tickets/{t['id']}", headers=token_for("gw01"),
                               params={"coordinate_system": system})
        assert one.status_code == 200, one.text
        shown = one.json()["location"]
        assert shown["coordinate_system"] == system
        assert distance_m(shown["lat"], shown["lon"], *point) < 0.01
    page = await client.get("/api/v1/tickets", headers=token_for("gw01"),
                            params={"coordinate_system": "gcj02", "item": "0202", "limit": 200})
    (listed,) = [x for x in page.json()["items"] if x["id"] == t["id"]]
    assert distance_m(listed["location"]["lat"], listed["location"]["lon"], *GCJ02) < 0.01
    bad = await client.get(f"/api/v1/tickets/{t['id']}", headers=token_for("gw01"),
                           params={"coordinate_system": "mars"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "coordinate_system"]


@pytest.mark.parametrize(("system", "point", "grid"), [
    ("gcj02", GCJ02, "BH01-01"), ("bd09", BD09, "BH01-01"), (None, GCJ02, "BH01-02")])
async def test_locate_takes_the_system(client, token_for, system, point, grid):
    params = {"lat": point[0], "lon": point[1]} | (
        {"coordinate_system": system} if system else {})
    r = await client.get("/api/v1/jurisdictions/locate", params=params, headers=token_for("gw01"))
    assert r.status_code == 200, r.text
    assert r.json()["grid"]["code"] == grid
    if system:
        assert distance_m(r.json()["point"]["lat"], r.json()["point"]["lon"], *WGS84) < 0.01
    bad = await client.get("/api/v1/jurisdictions/locate", headers=token_for("gw01"),
                           params=params | {"coordinate_system": "gps"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "coordinate_system"]
