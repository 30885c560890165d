"""The jurisdiction and department endpoints, through HTTP."""

from __future__ import annotations

import json

from shapely.geometry import shape

from app.auth.models import Role
from tests.jurisdiction.conftest import demo_collection

API = "/api/v1"


def _grid_feature(code: str) -> dict:
    return next(f for f in demo_collection()["features"] if f["properties"]["code"] == code)


def _codes(nodes: list[dict]) -> list[str]:
    return [n["code"] for n in nodes]


async def test_the_admin_sees_every_street_whole(client, demo, auth):
    r = await client.get(f"{API}/jurisdictions", headers=auth(Role.admin))
    assert r.status_code == 200
    street = next(s for s in r.json() if s["code"] == "BH")
    assert (street["name"], street["level"], street["in_scope"]) == ("滨海街道", "street", True)
    assert _codes(street["children"])[:5] == ["BH01", "BH02", "BH03", "BH04", "BH05"]
    grids = [g for c in street["children"] for g in c["children"]]
    assert len(grids) >= 24 and all(g["level"] == "grid" for g in grids)
    assert street["geometry"] is None and grids[0]["geometry"] is None


async def test_geometry_is_included_on_request(client, demo, auth):
    r = await client.get(f"{API}/jurisdictions", params={"include_geometry": "true"},
                         headers=auth(Role.admin))
    street = next(s for s in r.json() if s["code"] == "BH")
    grid = street["children"][0]["children"][0]
    assert grid["geometry"] == _grid_feature(grid["code"])["geometry"]
    assert street["geometry"]["type"] == "Polygon"


async def test_a_community_dispatcher_sees_only_its_community(client, demo, auth):
    headers = auth(Role.community_dispatcher, jurisdiction_id=demo["BH01"],
                   scope_level="community")
    r = await client.get(f"{API}/jurisdictions", params={"include_geometry": "true"},
                         headers=headers)
    assert r.status_code == 200
    [street] = r.json()
    # The street is shown only to place the community: no geometry, not in scope.
    assert (street["code"], street["in_scope"], street["geometry"]) == ("BH", False, None)
    [community] = street["children"]
    assert (community["code"], community["in_scope"]) == ("BH01", True)
    assert _codes(community["children"]) == [f"BH01-0{i}" for i in range(1, 7)]
    assert all(g["in_scope"] and g["geometry"] for g in community["children"])


async def test_a_node_outside_the_scope_is_not_found(client, demo, auth):
    headers = auth(Role.community_dispatcher, jurisdiction_id=demo["BH01"],
                   scope_level="community")
    for code in ("BH02", "BH02-01", "BH", "NOPE"):
        r = await client.get(f"{API}/jurisdictions/{code}", headers=headers)
        assert r.status_code == 404, code
        assert r.headers["content-type"] == "application/problem+json"
    r = await client.get(f"{API}/jurisdictions/BH01", headers=headers)
    assert r.status_code == 200
    assert len(r.json()["children"]) == 6


async def test_one_node_names_its_parent_community_and_street(client, demo, auth):
    r = await client.get(f"{API}/jurisdictions/BH03-02", params={"include_geometry": "true"},
                         headers=auth(Role.admin))
    body = r.json()
    assert (body["code"], body["level"], body["parent"], body["community"], body["street"]) == (
        "BH03-02", "grid", "BH03", "BH03", "BH")
    assert body["name"] == "港湾社区第二网格"
    assert body["geometry"]["type"] == "Polygon" and body["children"] == []
    street = (await client.get(f"{API}/jurisdictions/BH", headers=auth(Role.admin))).json()
    assert (street["parent"], street["community"], street["street"]) == (None, None, "BH")


async def test_a_grid_worker_sees_its_grids_under_their_ancestors(client, demo, auth):
    headers = auth(Role.grid_worker, grid_ids=frozenset({demo["BH01-02"], demo["BH02-01"]}))
    [street] = (await client.get(f"{API}/jurisdictions", headers=headers)).json()
    assert [(c["code"], c["in_scope"], _codes(c["children"])) for c in street["children"]] == [
        ("BH01", False, ["BH01-02"]), ("BH02", False, ["BH02-01"])]
    assert (await client.get(f"{API}/jurisdictions/BH01-02", headers=headers)).status_code == 200
    assert (await client.get(f"{API}/jurisdictions/BH01-01", headers=headers)).status_code == 404
    assert (await client.get(f"{API}/jurisdictions/BH01", headers=headers)).status_code == 404


async def test_department_roles_see_the_streets_of_their_department(client, demo, auth):
    staff = auth(Role.department_staff, department_id=demo["dept:CGZF"])
    r = await client.get(f"{API}/jurisdictions", headers=staff)
    street = next(s for s in r.json() if s["code"] == "BH")
    assert street["in_scope"] and len(street["children"]) >= 5
    nowhere = auth(Role.department_lead, department_id=987654321)  # serves no street
    assert (await client.get(f"{API}/jurisdictions", headers=nowhere)).json() == []


async def test_the_tree_needs_authentication(client, demo):
    r = await client.get(f"{API}/jurisdictions")
    assert r.status_code == 401


async def test_locate_finds_the_grid_holding_a_point(client, demo, auth):
    centre = shape(_grid_feature("BH03-02")["geometry"]).centroid
    # (a grid outside the caller's scope is not named: see tests/test_access_matrix.py)
    r = await client.get(f"{API}/jurisdictions/locate", params={"lat": centre.y, "lon": centre.x},
                         headers=auth(Role.admin))
    assert r.status_code == 200
    assert r.json() == {"grid": {"code": "BH03-02", "name": "港湾社区第二网格"},
                        "community": {"code": "BH03", "name": "港湾社区"},
                        "street": {"code": "BH", "name": "滨海街道"},
                        "point": {"lat": centre.y, "lon": centre.x}}


async def test_a_point_outside_every_grid_or_on_a_border_is_422(client, demo, auth):
    lon, lat = _grid_feature("BH01-04")["geometry"]["coordinates"][0][2]  # corner of 4 grids
    for point in ({"lat": 38.5, "lon": 121.0}, {"lat": lat, "lon": lon}):
        r = await client.get(f"{API}/jurisdictions/locate", params=point,
                             headers=auth(Role.admin))
        assert r.status_code == 422, point
        assert ["query", "lat"] in [e["loc"] for e in r.json()["errors"]]
        assert "no grid contains the point" in r.json()["detail"]


async def test_locate_checks_the_coordinate_ranges(client, demo, auth):
    r = await client.get(f"{API}/jurisdictions/locate", params={"lat": 121.63, "lon": 38.91},
                         headers=auth(Role.admin))
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["query", "lat"]]


def _upload(data: dict | str) -> dict:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return {"file": ("grids.geojson", text.encode(), "application/geo+json")}


async def test_import_is_for_admins_only(client, demo, auth):
    r = await client.post(f"{API}/jurisdictions/import", files=_upload(demo_collection()),
                          headers=auth(Role.street_dispatcher, jurisdiction_id=demo["BH"],
                                       scope_level="street"))
    assert r.status_code == 403


async def test_importing_the_demo_file_again_changes_nothing(client, demo, auth):
    r = await client.post(f"{API}/jurisdictions/import", files=_upload(demo_collection()),
                          headers=auth(Role.admin))
    assert r.status_code == 200
    body = r.json()
    assert (body["created"], body["updated"], body["streets"], body["communities"]) == (
        0, 0, 1, 5)
    assert body["grids"] >= 24


async def test_an_import_lists_every_bad_feature(client, demo, auth):
    data = demo_collection()
    data["features"][2]["properties"]["level"] = "block"
    data["features"][7]["geometry"] = {"type": "Point", "coordinates": [121.63, 38.91]}
    data["features"][9]["properties"]["parent"] = "BH"
    r = await client.post(f"{API}/jurisdictions/import", files=_upload(data),
                          headers=auth(Role.admin))
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [
        ["features", 2, "level"], ["features", 7, "geometry"], ["features", 9, "parent"]]


async def test_an_import_that_is_not_json_is_422(client, demo, auth):
    r = await client.post(f"{API}/jurisdictions/import", files=_upload("{not json"),
                          headers=auth(Role.admin))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "file"]


async def test_an_import_is_seen_by_the_next_request(client, demo, auth, cache, monkeypatch):
    # Trust the cached tree for an hour: only the import's invalidate() can refresh it.
    monkeypatch.setattr(cache, "_check_seconds", 3600)
    data = demo_collection()
    grid = next(f for f in data["features"] if f["properties"]["code"] == "BH04-03")
    grid["properties"]["name"] = "银沙社区改名网格"
    centre = shape(grid["geometry"]).centroid
    locate = {"lat": centre.y, "lon": centre.x}
    before = await client.get(f"{API}/jurisdictions/locate", params=locate,
                              headers=auth(Role.admin))
    assert before.json()["grid"]["name"] == "银沙社区第三网格"
    try:
        r = await client.post(f"{API}/jurisdictions/import", files=_upload(data),
                              headers=auth(Role.admin))
        assert r.json()["updated"] == 1
        after = await client.get(f"{API}/jurisdictions/locate", params=locate,
                                 headers=auth(Role.admin))
        assert after.json()["grid"]["name"] == "银沙社区改名网格"
    finally:
        await client.post(f"{API}/jurisdictions/import", files=_upload(demo_collection()),
                          headers=auth(Role.admin))


async def test_departments_are_listed_with_their_streets(client, demo, auth):
    headers = auth(Role.grid_worker)
    r = await client.get(f"{API}/departments", headers=headers)
    assert r.status_code == 200
    by_code = {d["code"]: d for d in r.json()}
    assert {"CGZF", "HW", "PCS", "RQ"} <= set(by_code)
    assert by_code["CGZF"] == {"code": "CGZF", "name": "城管执法中队", "streets": ["BH"]}
    one = await client.get(f"{API}/departments/SJS", headers=headers)
    assert one.json() == {"code": "SJS", "name": "市场监管所", "streets": ["BH"]}
    missing = await client.get(f"{API}/departments/NOPE", headers=headers)
    assert missing.status_code == 404
    assert (await client.get(f"{API}/departments")).status_code == 401
