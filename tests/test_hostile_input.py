"""Hostile input is a 4xx naming what is wrong, never a 500: numbers the database cannot
hold, characters it cannot store, dates at the calendar's edges, weights that are not
finite."""

from __future__ import annotations

import base64

import pytest

pytestmark = pytest.mark.usefixtures("reference")

TOO_BIG = 2**63  # one past PostgreSQL's BIGINT
IDS_IN_PATHS = [
    ("GET", "/api/v1/tickets/{id}"),
    ("GET", "/api/v1/tickets/{id}/events"),
    ("POST", "/api/v1/tickets/{id}/claim"),
    ("PATCH", "/api/v1/tickets/{id}"),
    ("GET", "/api/v1/attachments/{id}"),
    ("GET", "/api/v1/whistles/{id}"),
    ("GET", "/api/v1/admin/users/{id}"),
    ("PATCH", "/api/v1/admin/users/{id}"),
    ("DELETE", "/api/v1/admin/api-keys/{id}"),
    ("DELETE", "/api/v1/webhooks/{id}"),
    ("GET", "/api/v1/webhooks/{id}/deliveries"),
]


def _is_invalid(r, *loc) -> bool:
    return (r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
            and any(e["loc"][:len(loc)] == list(loc) for e in r.json()["errors"]))


@pytest.mark.parametrize("value", [TOO_BIG, 0, -1])
@pytest.mark.parametrize(("method", "path"), IDS_IN_PATHS)
async def test_an_id_in_a_path_is_a_positive_63_bit_integer(client, token_for, method, path,
                                                            value):
    r = await client.request(method, path.format(id=value), headers=token_for("admin"),
                             json={} if method in ("PATCH", "POST") else None)
    assert _is_invalid(r, "path"), (r.status_code, r.text)


async def test_the_largest_id_is_simply_not_found(client, token_for):
    r = await client.get(f"/api/v1/tickets/{TOO_BIG - 1}", headers=token_for("admin"))
    assert r.status_code == 404


@pytest.mark.parametrize("query", [f"ticket_id={TOO_BIG}", f"offset={TOO_BIG}", "ticket_id=0"])
async def test_ids_and_offsets_in_queries_are_bounded(client, token_for, query):
    r = await client.get(f"/api/v1/whistles?{query}", headers=token_for("sd"))
    assert _is_invalid(r, "query", query.partition("=")[0]), r.text


@pytest.mark.parametrize("cursor", [
    str(TOO_BIG), "²", base64.urlsafe_b64encode(f"t:{TOO_BIG}".encode()).decode(),
    base64.urlsafe_b64encode(b"t:-5").decode()])
@pytest.mark.parametrize("path", ["/api/v1/admin/users", "/api/v1/admin/api-keys",
                                  "/api/v1/tickets"])
async def test_list_cursors_are_bounded(client, token_for, path, cursor):
    r = await client.get(path, params={"cursor": cursor}, headers=token_for("admin"))
    assert _is_invalid(r, "query", "cursor"), r.text


async def test_matrix_version_in_a_query_is_bounded(client, token_for):
    r = await client.get(f"/api/v1/matrix/export?version={TOO_BIG}", headers=token_for("admin"))
    assert _is_invalid(r, "query", "version"), r.text


@pytest.mark.parametrize(("path", "body", "loc"), [
    ("/api/v1/tickets", {"grid": "BH01-01", "item": "x", "description": "d",
                         "attachments": [TOO_BIG]}, ["body", "attachments", 0]),
    ("/api/v1/tickets/1/merge", {"target_ticket_id": TOO_BIG}, ["body", "target_ticket_id"]),
    ("/api/v1/tickets/1/merge", {"target_ticket_id": 0}, ["body", "target_ticket_id"]),
    ("/api/v1/tickets/1/transfer", {"assignee_id": TOO_BIG}, ["body", "assignee_id"]),
    ("/api/v1/tickets/1/note", {"result": "r", "attachments": [-3]}, ["body", "attachments", 0]),
])
async def test_ids_in_bodies_are_bounded(client, token_for, path, body, loc):
    r = await client.post(path, json=body, headers=token_for("admin"))
    assert _is_invalid(r, *loc), r.text


async def test_merging_into_ticket_zero_says_the_id_is_wrong_not_missing(client, token_for):
    r = await client.post("/api/v1/tickets/1/merge", json={"target_ticket_id": 0},
                          headers=token_for("sd"))
    assert r.status_code == 422 and "required" not in r.json()["detail"], r.text


@pytest.mark.parametrize("path", ["/api/v1/reports/sla", "/api/v1/reports/rankings",
                                  "/api/v1/reports/sla?series=week"])
@pytest.mark.parametrize(("start", "end", "bad"), [
    ("0001-01-01", "2026-11-01", "from"), ("2026-11-01", "9999-12-31", "to"),
    ("1999-12-31", "2000-01-10", "from"), ("2100-12-01", "2101-01-01", "to")])
async def test_report_dates_are_between_2000_and_2100(client, token_for, path, start, end, bad):
    sep = "&" if "?" in path else "?"
    r = await client.get(f"{path}{sep}from={start}&to={end}", headers=token_for("sup_bh"))
    assert _is_invalid(r, "query", bad), r.text


async def test_report_dates_inside_the_range_are_answered(client, token_for):
    r = await client.get("/api/v1/reports/sla?from=2000-01-01&to=2000-01-31&series=week",
                         headers=token_for("sup_bh"))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("weight", ["inf", "-inf", "nan", "1e308", "1001"])
async def test_ranking_weights_are_finite_and_bounded(client, token_for, weight):
    r = await client.get(f"/api/v1/reports/rankings?from=2026-11-01&to=2026-11-30"
                         f"&w_response={weight}", headers=token_for("sup_bh"))
    assert _is_invalid(r, "query", "w_response"), r.text


# --- characters PostgreSQL cannot store, and authentication before the body ----------------

NUL = "\x00"


@pytest.mark.parametrize(("method", "path", "kwargs", "loc"), [
    ("POST", "/api/v1/tickets", {"json": {"grid": "BH01-01", "item": "x",
                                          "description": f"a{NUL}b"}}, ["body", "description"]),
    ("POST", "/api/v1/tickets", {"json": {"grid": "BH01-01", "item": "x", "description": "d",
                                          "reporter": {"name": f"王{NUL}"}}},
     ["body", "reporter", "name"]),
    ("POST", "/api/v1/tickets/1/note", {"json": {"result": "\ud800"}}, ["body", "result"]),
    ("GET", "/api/v1/jurisdictions/BH%00", {}, ["path", "code"]),
    ("GET", "/api/v1/tickets", {"params": {"jurisdiction": f"BH{NUL}"}}, ["query", "jurisdiction"]),
])
async def test_unstorable_characters_are_422_naming_the_field(client, token_for, method, path,
                                                              kwargs, loc):
    if "json" in kwargs:  # json.dumps escapes NUL and lone surrogates as \\u0000, \\ud800
        import json
        kwargs = {"content": json.dumps(kwargs["json"]),
                  "headers": {"Content-Type": "application/json"}}
    headers = {**token_for("admin"), **kwargs.pop("headers", {})}
    r = await client.request(method, path, headers=headers, **kwargs)
    assert _is_invalid(r, *loc), r.text


async def test_a_login_username_with_nul_is_422(client):
    r = await client.post("/api/v1/auth/token", data={"username": f"gw{NUL}01", "password": "x"})
    assert _is_invalid(r, "body", "username"), r.text


@pytest.mark.parametrize(("path", "headers", "content"), [
    ("/api/v1/tickets", {"Content-Type": "application/json"}, b"\xff\xfe{"),
    ("/api/v1/tickets", {"Content-Type": "application/json"}, b"{not json"),
    ("/api/v1/attachments", {"Content-Type": "multipart/form-data"}, b"--x\r\n"),
    ("/api/v1/tickets/1/merge", {"Content-Type": "application/json"}, b'{"target_ticket_id": 0}'),
])
async def test_an_anonymous_request_is_401_whatever_its_body(client, path, headers, content):
    r = await client.post(path, headers=headers, content=content)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width × height`` pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack("!I", len(data)) + kind + data
                + struct.pack("!I", zlib.crc32(kind + data)))

    header = struct.pack("!IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [100_000, 9_000])  # beyond Pillow's own limit; beyond ours
async def test_a_decompression_bomb_image_is_413(client, token_for, side):
    bomb = _png_claiming(side, side)
    assert len(bomb) < 100
    r = await client.post("/api/v1/attachments", headers=token_for("gw01"),
                          files={"file": ("bomb.png", bomb, "image/png")})
    assert r.status_code == 413, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "file"]


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("OPTIONS", "/api/v1/tickets", "GET, HEAD, POST"),
    ("DELETE", "/api/v1/tickets/1", "GET, HEAD, PATCH"),
    ("PUT", "/api/v1/admin/users/1", "GET, HEAD, PATCH"),
])
async def test_405_allows_every_method_of_the_path(client, method, path, allow):
    r = await client.request(method, path)
    assert r.status_code == 405 and r.headers["Allow"] == allow, r.headers
