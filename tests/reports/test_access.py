"""Who may read reports, and the errors that name the bad parameter."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from app.auth.apikeys import generate_api_key
from app.auth.models import ApiKey

pytestmark = pytest.mark.usefixtures("reference")
RANGE = {"from": "2026-03-01", "to": "2026-05-31"}


async def _get(client, token_for, user, path="sla", **params):
    return await client.get(f"/api/v1/reports/{path}", params={**RANGE, **params},
                            headers=token_for(user))


@pytest.mark.parametrize("user", ["gw01", "cgzf_staff", "hw_staff"])
async def test_workers_and_staff_may_not_read_reports(user, client, token_for):
    for path in ("sla", "rankings"):
        r = await _get(client, token_for, user, path)
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_without_credentials_401(client):
    r = await client.get("/api/v1/reports/sla", params=RANGE)
    assert r.status_code == 401


@pytest.mark.parametrize(("user", "params"), [
    ("sup_bh01", {"jurisdiction": "BH02"}),       # a sibling community
    ("sup_bh01", {"jurisdiction": "BH"}),         # the street above
    ("cd01", {"jurisdiction": "BH02-01"}),        # a grid of another community
    ("admin", {"jurisdiction": "NOWHERE"}),       # no such node
    ("hw_lead", {"department": "CGZF"}),          # another department
])
async def test_outside_the_scope_is_404(user, params, client, token_for):
    r = await _get(client, token_for, user, **params)
    assert r.status_code == 404, r.text


async def test_a_supervisor_sees_only_their_subtree(stories, client, token_for):
    body = (await _get(client, token_for, "sup_bh01", group_by="community")).json()
    assert [row["group"]["community"]["code"] for row in body["rows"]] == ["BH01"]
    everything = (await _get(client, token_for, "admin", group_by="community")).json()
    assert len(everything["rows"]) > 1
    assert body["total"]["reported"] < everything["total"]["reported"]


@pytest.mark.parametrize(("params", "loc"), [
    ({"group_by": "colour"}, ["query", "group_by", 0]),
    ({"group_by": "community,colour"}, ["query", "group_by", 1]),
    ({"to": "2026-02-01"}, ["query", "to"]),
    ({"to": "2030-01-01"}, ["query", "to"]),
    ({"department": "NOPE"}, ["query", "department"]),
    ({"category": "09"}, ["query", "category"]),
    ({"series": "year"}, ["query", "series"]),
    ({"format": "pdf"}, ["query", "format"]),
])
async def test_bad_parameters_are_named(params, loc, client, token_for):
    r = await _get(client, token_for, "admin", **params)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc


async def test_the_range_is_required(client, token_for):
    r = await client.get("/api/v1/reports/sla", headers=token_for("admin"))
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {("query", "from"), ("query", "to")}


# Every role of the access matrix (tests/test_access_matrix.py) on both report routes.
ROLE_STATUS = {"admin": 200, "gw01": 403, "cd01": 200, "cd02": 200, "sd": 200,
               "cgzf_staff": 403, "cgzf_lead": 200, "hw_staff": 403, "sup_bh": 200,
               "sup_bh01": 200, "integration": 403}


@pytest.mark.parametrize("path", ["sla", "rankings"])
@pytest.mark.parametrize(("role", "expected"), sorted(ROLE_STATUS.items()))
async def test_access_by_role(path, role, expected, client, token_for, sessions):
    if role == "integration":
        raw, prefix, digest = generate_api_key()
        async with sessions() as s, s.begin():
            await s.execute(insert(ApiKey).values(name=f"reports-{prefix}", prefix=prefix,
                                                  key_hash=digest))
        headers = {"X-API-Key": raw}
    else:
        headers = token_for(role)
    r = await client.get(f"/api/v1/reports/{path}", params=RANGE, headers=headers)
    assert r.status_code == expected, r.text


async def test_a_department_lead_asking_for_a_street_its_department_does_not_serve_gets_404(
        sessions, reference):
    """Demo data has one street, which HW serves; take that away inside a transaction that
    is rolled back, and the street is out of the lead's scope: as absent as no street."""
    from sqlalchemy import delete, select

    from app.errors import NotFound
    from app.jurisdiction.models import Department, DepartmentStreet
    from app.reports.scope import RequestFilters, resolve_filters

    lead = reference["hw_lead"]
    async with sessions() as session:
        served = await resolve_filters(session, lead, RequestFilters(jurisdiction="BH01"))
        assert served["community_id"]
        hw = (await session.execute(select(Department.id).where(Department.code == "HW"))
              ).scalar_one()
        await session.execute(delete(DepartmentStreet).where(
            DepartmentStreet.department_id == hw))
        for code in ("BH", "BH01", "NOWHERE"):
            with pytest.raises(NotFound) as caught:
                await resolve_filters(session, lead, RequestFilters(jurisdiction=code))
            assert caught.value.detail == f"no jurisdiction {code!r} in your scope"
        await session.rollback()
