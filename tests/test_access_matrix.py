"""Every endpoint × every role (and anonymous), table-driven.

``ACCESS`` names, for each route of the API, what each role gets: 2xx where allowed, 401
anonymous, 403 where the role may not act, 404 where the object is outside the caller's
scope (sibling community, another department). A route missing from the table fails the
completeness test, so no endpoint ships without its access rule. Workflow actions are
covered in depth by tests/tickets/test_workflow.py (every action × state × relation); here
each is checked for anonymous, a role that sees but may not act, and roles that cannot see.
"""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from sqlalchemy import insert

from app.auth.apikeys import generate_api_key
from app.auth.models import ApiKey
from app.tickets.workflow import BY_ACTION

pytestmark = pytest.mark.usefixtures("reference")

ROLES = ["anonymous", "admin", "gw01", "cd01", "cd02", "sd", "cgzf_staff", "cgzf_lead",
         "hw_staff", "sup_bh", "sup_bh01", "integration"]
EVERYONE = {r: 200 for r in ROLES if r != "anonymous"}


def only(status: int, allowed: set[str], others: int = 403) -> dict[str, int]:
    return {r: (status if r in allowed else others) for r in ROLES if r != "anonymous"}


SEES_TICKET = {"admin", "gw01", "cd01", "sd", "cgzf_staff", "cgzf_lead", "sup_bh", "sup_bh01"}
POSTERS = {"admin", "gw01", "cd01", "sd", "integration"}
# (method, path) → role → expected status. "{ticket}" etc. are filled from the fixture below.
ACCESS: dict[tuple[str, str], dict[str, int] | str] = {
    ("GET", "/api/v1/workflow"): "public",
    ("POST", "/api/v1/auth/token"): "public",
    ("POST", "/api/v1/auth/refresh"): "public",
    ("POST", "/api/v1/auth/logout"): "public",
    ("GET", "/api/v1/auth/me"): EVERYONE,
    # every user may change their own password (here: a wrong current one, 422); a key has none
    ("POST", "/api/v1/auth/password"): {**{r: 422 for r in EVERYONE}, "integration": 403},
    ("POST", "/api/v1/admin/users/import"): only(201, {"admin"}),
    ("GET", "/api/v1/admin/users"): only(200, {"admin"}),
    ("POST", "/api/v1/admin/users"): only(201, {"admin"}),
    ("GET", "/api/v1/admin/users/{user_id}"): only(200, {"admin"}),
    ("PATCH", "/api/v1/admin/users/{user_id}"): only(200, {"admin"}),
    ("GET", "/api/v1/admin/api-keys"): only(200, {"admin"}),
    ("POST", "/api/v1/admin/api-keys"): only(201, {"admin"}),
    ("DELETE", "/api/v1/admin/api-keys/{key_id}"): only(204, {"admin"}),
    ("POST", "/api/v1/attachments"): {r: 201 for r in EVERYONE},
    ("GET", "/api/v1/attachments/{attachment_id}"): only(200, SEES_TICKET, 404),
    ("GET", "/api/v1/attachments/{attachment_id}/thumbnail"): only(200, SEES_TICKET, 404),
    ("GET", "/api/v1/attachments/{attachment_id}/metadata"): only(200, SEES_TICKET, 404),
    # a signed link is its own credential (tests/attachments/test_photos.py)
    ("GET", "/api/v1/media/{attachment_id}"): "public",
    ("GET", "/api/v1/departments"): EVERYONE,
    ("GET", "/api/v1/departments/{code}"): EVERYONE,
    # a community's supervisor reads the department's queue filtered to its subtree
    ("GET", "/api/v1/departments/{code}/queue"): only(
        200, {"admin", "sd", "sup_bh", "sup_bh01", "cgzf_staff", "cgzf_lead"}, 404),
    ("GET", "/api/v1/departments/{code}/staff"): {**only(200, {"admin", "cgzf_lead"}),
                                                  "hw_staff": 403},
    ("POST", "/api/v1/departments/{code}/queue/claim-next"): {
        **only(200, {"cgzf_staff", "cgzf_lead"}), "hw_staff": 404},
    ("GET", "/api/v1/jurisdictions"): EVERYONE,
    ("GET", "/api/v1/jurisdictions/locate"): EVERYONE,
    ("POST", "/api/v1/jurisdictions/import"): only(200, {"admin"}),
    ("GET", "/api/v1/jurisdictions/{code}"): only(
        200, {"admin", "cd01", "sd", "cgzf_staff", "cgzf_lead", "hw_staff", "sup_bh", "sup_bh01",
              "integration"}, 404),
    ("GET", "/api/v1/jurisdictions/{code}/queue"): only(
        200, {"admin", "cd01", "sd", "sup_bh", "sup_bh01"}, 404),
    ("GET", "/api/v1/jurisdictions/{code}/triage"): only(200, {"admin", "sd", "sup_bh",
                                                                "sup_bh01"}),
    ("POST", "/api/v1/matrix/suggest"): EVERYONE,
    ("GET", "/api/v1/matrix"): EVERYONE,
    ("GET", "/api/v1/matrix/items/{code}"): EVERYONE,
    ("GET", "/api/v1/matrix/versions"): only(200, {"admin"}),
    ("POST", "/api/v1/matrix/import"): only(201, {"admin"}),
    ("GET", "/api/v1/matrix/export"): only(200, {"admin"}),
    # posting into a grid outside one's scope reads as "no such grid": 422 on the field
    ("POST", "/api/v1/tickets"): {**only(201, POSTERS), "cd02": 422},
    ("GET", "/api/v1/tickets"): EVERYONE,
    ("GET", "/api/v1/tickets/duplicates"): EVERYONE,  # scoped like the list
    ("GET", "/api/v1/tickets/nearby"): EVERYONE,  # scoped like the list
    ("GET", "/api/v1/tickets/export"): EVERYONE,
    ("GET", "/api/v1/tickets/{ticket_id}"): only(200, SEES_TICKET, 404),
    ("GET", "/api/v1/tickets/{ticket_id}/events"): only(200, SEES_TICKET, 404),
    ("GET", "/api/v1/tickets/{ticket_id}/countdown"): only(200, SEES_TICKET, 404),
    ("PATCH", "/api/v1/tickets/{ticket_id}"): {
        **only(200, {"gw01", "cd01", "sd"}), "cd02": 404, "hw_staff": 404, "integration": 404},
    ("GET", "/api/v1/whistles"): EVERYONE,
    ("GET", "/api/v1/ticket-requests"): EVERYONE,  # each sees its own scope's requests
    # a whistle is visible to whoever sees its ticket, and to the departments it summoned
    ("GET", "/api/v1/whistles/{whistle_id}"): only(200, SEES_TICKET | {"hw_staff"}, 404),
    ("GET", "/api/v1/calendar/status"): only(200, {"admin"}),
    ("GET", "/api/v1/calendars/{street_code}"): only(200, {"admin"}),
    ("PUT", "/api/v1/calendars/{street_code}"): only(200, {"admin"}),
    ("GET", "/api/v1/calendars/{street_code}/overrides"): only(200, {"admin"}),
    ("POST", "/api/v1/calendars/{street_code}/overrides"): only(201, {"admin"}),
    ("DELETE", "/api/v1/calendars/{street_code}/overrides/{day}"): only(204, {"admin"}),
}
ACTION_PREFIX = "/api/v1/tickets/{ticket_id}/"
# Routes owned by other suites' access tables (reports, webhooks, live streams,
# notifications: tests/notifications).
ELSEWHERE = ("/api/v1/reports", "/api/v1/webhooks", "/api/v1/departments/{code}/queue/stream",
             "/api/v1/notification")


def api_routes(app) -> list[tuple[str, str]]:
    # Read the OpenAPI paths: FastAPI keeps included routers as wrappers in app.routes.
    return [(method.upper(), path) for path, ops in app.openapi()["paths"].items()
            if path.startswith("/api/v1") for method in ops]


def test_the_route_listing_sees_the_api(app):
    routes = api_routes(app)
    assert ("POST", "/api/v1/tickets") in routes and len(routes) > 60


def test_every_route_has_an_access_rule(app):
    missing = [r for r in api_routes(app)
               if r not in ACCESS and not r[1].startswith(ACTION_PREFIX)
               and not r[1].startswith(ELSEWHERE)]
    assert missing == [], f"routes without an access rule: {missing}"


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
async def world(client, token_for, sessions, reference, matrix_items):
    """A CGZF ticket in BH01-01 posted by gw01 with a photo, an integration key, a whistle
    summoning HW on another ticket."""
    item = next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF")
    att = (await client.post("/api/v1/attachments", files={"file": ("a.png", png(), "image/png")},
                             headers=token_for("gw01"))).json()
    ticket = (await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": item, "description": "占道经营", "attachments": [att["id"]]
    })).json()
    whistled = (await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": item, "description": "夜市占道"})).json()
    whistle = await client.post(f"/api/v1/tickets/{whistled['id']}/whistle",
                                json={"departments": ["HW"]}, headers=token_for("sd"))
    raw, prefix, digest = generate_api_key()
    async with sessions() as s, s.begin():
        await s.execute(insert(ApiKey).values(name=f"acl-{prefix}", prefix=prefix,
                                              key_hash=digest))
    whistles = (await client.get("/api/v1/whistles", headers=token_for("sd"))).json()
    whistle_id = next(w["id"] for w in (whistles["items"] if isinstance(whistles, dict)
                                        else whistles) if w["ticket_id"] == whistled["id"])
    assert whistle.status_code == 200, whistle.text
    return {"ticket": ticket, "attachment": att, "api_key": raw, "item": item,
            "whistle_id": whistle_id}


def headers_for(role: str, token_for, world) -> dict[str, str]:
    if role == "anonymous":
        return {}
    if role == "integration":
        return {"X-API-Key": world["api_key"]}
    return token_for(role)


async def request_for(method: str, path: str, role: str, world, client, token_for, sessions):
    """A request that succeeds for an allowed role."""
    t = world["ticket"]
    u = uuid.uuid4().hex[:8]
    fill = {"ticket_id": t["id"], "attachment_id": world["attachment"]["id"],
            "code": "CGZF" if "/departments/" in path else "BH01",
            "street_code": "BH", "whistle_id": world["whistle_id"], "day": "2031-01-02"}
    kwargs: dict = {}
    if path == "/api/v1/matrix/items/{code}":
        fill["code"] = world["item"]
    if path == "/api/v1/jurisdictions/{code}/triage":
        fill["code"] = "BH"  # a street's triage queue
    if path == "/api/v1/matrix/suggest":
        kwargs["json"] = {"text": "井盖没了"}
    if path == "/api/v1/jurisdictions/locate":
        kwargs["params"] = {"lat": 0, "lon": 0}  # validity of the point is not the question
    if path == "/api/v1/tickets/nearby":
        kwargs["params"] = {"item": world["item"], "lat": 38.919, "lon": 121.62}
    if path.startswith("/api/v1/admin/users"):
        fill["user_id"] = 1
        kwargs["json"] = ({"username": f"acl_{u}", "password": "long-enough-pw", "role": "admin"}
                          if method == "POST" else {"display_name": "管理员"})
    if path == "/api/v1/admin/api-keys" and method == "POST":
        kwargs["json"] = {"name": f"acl-{u}"}
    if path == "/api/v1/admin/api-keys/{key_id}":
        created = await client.post("/api/v1/admin/api-keys", json={"name": f"acl-{u}"},
                                    headers=token_for("admin"))
        fill["key_id"] = created.json()["id"]
    if path == "/api/v1/auth/password":
        kwargs["json"] = {"current_password": "not the password", "new_password": "long enough"}
    if path == "/api/v1/admin/users/import":
        kwargs["files"] = {"file": ("users.csv", f"username,name,role\nacl-{u},访问,admin\n"
                                    .encode(), "text/csv")}
    if path == "/api/v1/attachments" and method == "POST":
        kwargs["files"] = {"file": ("p.png", png(), "image/png")}
    if path == "/api/v1/tickets" and method == "POST":
        kwargs["json"] = {"grid": "BH01-01", "item": world["item"], "description": "访问测试"}
    if method == "PATCH" and path == "/api/v1/tickets/{ticket_id}":
        current = await client.get(f"/api/v1/tickets/{t['id']}", headers=token_for("admin"))
        kwargs["json"] = {"description": f"更正 {u}"}
        kwargs["headers"] = {"If-Match": current.headers["ETag"]}
    if path == "/api/v1/jurisdictions/import":
        from app.demo.seed import STREET_GEOJSON

        kwargs["files"] = {"file": ("bh.geojson", STREET_GEOJSON.read_bytes(),
                                    "application/geo+json")}
    if path == "/api/v1/matrix/import":
        from app.demo.seed import MATRIX_CSV

        kwargs["files"] = {"file": ("matrix.csv", MATRIX_CSV.read_bytes(), "text/csv")}
    if path == "/api/v1/calendars/{street_code}" and method == "PUT":
        kwargs["json"] = {"periods": "08:30-12:00,14:00-17:30"}
    if path.endswith("/overrides") and method == "POST":
        kwargs["json"] = {"day": "2031-01-02", "is_working": False, "note": "acl"}
    if path.endswith("/overrides/{day}"):
        await client.post("/api/v1/calendars/BH/overrides", headers=token_for("admin"),
                          json={"day": "2031-01-02", "is_working": False, "note": "acl"})
    url = path.format(**fill)
    return url, kwargs


MATRIX = [(m, p, role) for (m, p), rule in ACCESS.items() if rule != "public" for role in ROLES]


@pytest.mark.parametrize(("method", "path", "role"), MATRIX,
                         ids=[f"{m} {p} as {r}" for m, p, r in MATRIX])
async def test_endpoint_by_role(method, path, role, client, token_for, world, sessions):
    url, kwargs = await request_for(method, path, role, world, client, token_for, sessions)
    headers = {**kwargs.pop("headers", {}), **headers_for(role, token_for, world)}
    r = await client.request(method, url, headers=headers, **kwargs)
    rule = ACCESS[(method, path)]
    if role == "anonymous":
        assert r.status_code == 401, r.text[:300]
        return
    expected = rule[role]
    if expected < 300:
        if path == "/api/v1/jurisdictions/locate":
            assert r.status_code == 422  # authorised; (0, 0) is in no grid
        elif path.endswith("claim-next"):
            assert r.status_code in (200, 204), r.text[:300]
        else:
            assert 200 <= r.status_code < 300, r.text[:300]
    else:
        assert r.status_code == expected, r.text[:300]
    assert r.status_code != 500


VALID_BODIES = {
    "note": {"result": "进展"}, "resolve": {"result": "完成"}, "self_close": {"result": "完成"},
    "return": {"reason": "r"}, "cancel": {"reason": "r"}, "reopen": {"reason": "r"},
    "escalate": {"reason": "r"}, "verify_pass": {"passed": True},
    "verify_fail": {"passed": False, "reason": "r"}, "reroute": {"department": "HW"},
    "transfer": {"assignee_id": 1}, "merge": {"target_ticket_id": 1}, "rate": {"rating": "满意"},
    "request_extension": {"minutes": 60, "reason": "r"}, "request_suspension": {"reason": "r"},
    "approve_extension": {"approve": True}, "reject_extension": {"approve": False},
    "approve_suspension": {"approve": True}, "reject_suspension": {"approve": False},
    "blow_whistle": {"departments": ["HW"]},
}
PATHS = {"verify_pass": "verify", "verify_fail": "verify", "blow_whistle": "whistle",
         "approve_extension": "decide-extension", "reject_extension": "decide-extension",
         "approve_suspension": "decide-suspension", "reject_suspension": "decide-suspension"}


@pytest.mark.parametrize("action", sorted(a for a in BY_ACTION if a != "edit"))
async def test_actions_refuse_anonymous_and_roles_that_cannot_see(action, client, token_for,
                                                                  world):
    url = f"/api/v1/tickets/{world['ticket']['id']}/{PATHS.get(action, action.replace('_', '-'))}"
    body = VALID_BODIES.get(action, {})
    assert (await client.post(url, json=body)).status_code == 401
    for role in ("cd02", "hw_staff", "integration"):
        r = await client.post(url, json=body, headers=headers_for(role, token_for, world))
        assert r.status_code == 404, (role, r.text[:300])
    # a supervisor sees the ticket but holds no relation to it: 403
    r = await client.post(url, json=body, headers=token_for("sup_bh"))
    assert r.status_code == 403, r.text[:300]


# --- out of scope looks exactly like absent ------------------------------------------------

NOPE = "NOPE-404"


def _shape(r) -> tuple:
    """What a client can tell from an answer, with the code it asked for taken out."""
    body = r.json() if r.headers.get("content-type", "").startswith("application/") else None
    if isinstance(body, dict) and "status" in body:
        body = (body["type"], body["title"], [e["loc"] for e in body.get("errors") or []])
    return r.status_code, body


async def _inside_point(client, token_for, grid: str) -> tuple[float, float]:
    from shapely.geometry import shape

    r = await client.get(f"/api/v1/jurisdictions/{grid}?include_geometry=true",
                         headers=token_for("admin"))
    point = shape(r.json()["geometry"]).representative_point()
    return point.y, point.x


@pytest.mark.parametrize(("role", "template", "hidden"), [
    ("cd01", "/api/v1/jurisdictions/{}", "BH02"),
    ("cd01", "/api/v1/jurisdictions/{}", "BH"),
    ("cd01", "/api/v1/jurisdictions/{}/queue", "BH02"),
    ("gw01", "/api/v1/jurisdictions/{}/queue", "BH01-03"),
    ("cd01", "/api/v1/tickets?jurisdiction={}", "BH02"),
    ("gw02", "/api/v1/tickets?jurisdiction={}", "BH01-01"),
    ("sup_bh01", "/api/v1/reports/sla?from=2026-11-01&to=2026-11-30&jurisdiction={}", "BH02"),
    ("sup_bh01", "/api/v1/reports/rankings?from=2026-11-01&to=2026-11-30&jurisdiction={}",
     "BH02"),
    ("hw_staff", "/api/v1/departments/{}/queue", "CGZF"),
])
async def test_a_code_out_of_scope_is_answered_like_one_that_does_not_exist(
        client, token_for, role, template, hidden):
    headers = token_for(role)
    out_of_scope = await client.get(template.format(hidden), headers=headers)
    absent = await client.get(template.format(NOPE), headers=headers)
    assert out_of_scope.status_code >= 400, out_of_scope.text
    assert _shape(out_of_scope) == _shape(absent), (out_of_scope.text, absent.text)


async def test_a_ticket_out_of_scope_is_answered_like_one_that_does_not_exist(
        client, token_for, world):
    ticket = world["ticket"]["id"]
    for template in ("/api/v1/tickets/{}", "/api/v1/tickets/{}/events",
                     "/api/v1/whistles?ticket_id={}"):
        hidden = await client.get(template.format(ticket), headers=token_for("gw02"))
        absent = await client.get(template.format(2**62), headers=token_for("gw02"))
        assert _shape(hidden) == _shape(absent), template


async def test_locate_does_not_name_a_grid_out_of_scope(client, token_for):
    lat, lon = await _inside_point(client, token_for, "BH02-01")
    mine = await client.get(f"/api/v1/jurisdictions/locate?lat={lat}&lon={lon}",
                            headers=token_for("cd02"))
    assert mine.status_code == 200 and mine.json()["grid"]["code"] == "BH02-01"
    hidden = await client.get(f"/api/v1/jurisdictions/locate?lat={lat}&lon={lon}",
                              headers=token_for("cd01"))
    nowhere = await client.get("/api/v1/jurisdictions/locate?lat=1&lon=1",
                               headers=token_for("cd01"))
    assert _shape(hidden) == _shape(nowhere) and "BH02" not in hidden.text
