"""POST requests.{format}: spec-shaped requests become tickets routed by the matrix; every
documented error; retries within the window file one ticket."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from urllib.parse import quote_plus

import pytest
from sqlalchemy import func, select, update

from app.auth.models import ApiKey
from app.db import unit_of_work
from app.tickets.models import IdempotencyRecord, Ticket, parse_ticket_number
from tests.conftest import T0
from tests.open311.conftest import INSIDE_BH01_01
from tests.open311.test_services import errors_of, xml

pytestmark = pytest.mark.usefixtures("reference")

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def spec_body(api_key: str, /, **changes: str | None) -> str:
    """The spec's example POST body, field for field, with our service code, the demo
    street and a point in grid BH01-01; a unique description keeps tests apart."""
    lat, lon = INSIDE_BH01_01
    fields = {
        "api_key": api_key, "jurisdiction_id": "BH", "service_code": "0202",
        "lat": str(lat), "long": str(lon), "address_string": "1234 5th street",
        "email": "smit333@sfgov.edu", "device_id": "tt222111", "account_id": "123456",
        "first_name": "john", "last_name": "smith", "phone": "111111111",
        "description": f"A large sinkhole is destroying the street {uuid.uuid4().hex[:8]}",
        "media_url": "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg",
        "attribute[urgent]": "urgent",
    } | changes
    # Encoded by hand as in the spec (attribute[urgent] keeps its brackets).
    return "&".join(f"{k}={quote_plus(v, safe='[]')}" for k, v in fields.items() if v is not None)


async def post(o311, body: str, fmt: str = "json"):
    return await o311.post(f"requests.{fmt}", content=body.encode(), headers=FORM)


def ticket_url(answer) -> str:
    """The /api/v1 URL of the ticket an Open311 answer names."""
    return f"/api/v1/tickets/{parse_ticket_number(answer.json()[0]['service_request_id'])}"


async def ticket_count(sessions) -> int:
    async with sessions() as s:
        return (await s.execute(select(func.count()).select_from(Ticket))).scalar_one()


async def test_the_spec_example_files_a_ticket_routed_by_the_matrix(
        o311, client, api_key, token_for, matrix_items):
    r = await post(o311, spec_body(api_key))
    assert r.status_code == 200, r.text
    (answer,) = r.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert answer["account_id"] == "123456"
    assert "环卫所" in answer["service_notice"]  # 0202 is the sanitation department's
    ticket_id = parse_ticket_number(answer["service_request_id"])
    t = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=token_for("admin"))).json()
    assert t["number"] == answer["service_request_id"]
    assert (t["source"], t["item"], t["grid"], t["urgency"]) == ("open311", "0202", "BH01-01",
                                                                 "urgent")
    assert (t["status"], t["department"]) == ("dispatched", matrix_items["0202"].primary_department)
    assert t["reporter"] == {"name": "john smith", "phone": "111111111", "masked": False}
    assert t["address"] == "1234 5th street"
    assert t["location"] == {"lat": INSIDE_BH01_01[0], "lon": INSIDE_BH01_01[1],
                             "coordinate_system": "wgs84"}
    assert t["description"].startswith("A large sinkhole is destroying the street")


async def test_the_answer_in_xml(o311, api_key):
    r = await post(o311, spec_body(api_key, account_id=None), "xml")
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert [c.tag for c in request] == ["service_request_id", "service_notice", "account_id"]
    assert parse_ticket_number(request.findtext("service_request_id")) is not None
    assert request.find("account_id").text is None  # <account_id/>, as in the spec


async def test_the_ticket_waits_in_the_departments_queue(o311, client, api_key, token_for):
    r = await post(o311, spec_body(api_key))
    ticket_id = parse_ticket_number(r.json()[0]["service_request_id"])
    queue = await client.get("/api/v1/departments/HW/queue", headers=token_for("hw_staff"))
    assert ticket_id in [t["id"] for t in queue.json()]


async def test_the_key_may_come_in_the_query_string(o311, api_key):
    r = await o311.post("requests.json", params={"api_key": api_key},
                        content=spec_body("", api_key=None).encode(), headers=FORM)
    assert r.status_code == 200, r.text


async def test_an_address_id_is_a_grid_code(o311, client, api_key, token_for):
    r = await post(o311, spec_body(api_key, lat=None, long=None, address_string=None,
                                   address_id="BH02-01"))
    assert r.status_code == 200, r.text
    t = await client.get(ticket_url(r), headers=token_for("admin"))
    assert t.json()["grid"] == "BH02-01" and t.json()["location"] is None


async def test_an_address_string_naming_a_grid_is_enough(o311, client, api_key, token_for):
    r = await post(o311, spec_body(api_key, lat=None, long=None,
                                   address_string="星海社区第三网格 12号楼"))
    assert r.status_code == 200, r.text
    t = await client.get(ticket_url(r), headers=token_for("admin"))
    assert t.json()["grid"] == "BH02-03" and t.json()["address"] == "星海社区第三网格 12号楼"


async def test_without_a_description_the_service_name_is_used(o311, client, api_key, token_for,
                                                              matrix_items):
    body = spec_body(api_key, description=None, address_string=f"近 {uuid.uuid4().hex[:6]}")
    r = await post(o311, body)
    assert r.status_code == 200, r.text
    t = await client.get(ticket_url(r), headers=token_for("admin"))
    assert t.json()["description"] == matrix_items["0202"].name


NOT_A_KEY = "wh_0123abcd_notarealsecretnotarealsecret12"


@pytest.mark.parametrize(("changes", "status", "message"), [
    ({"api_key": None}, 403, "api_key was not provided"),
    ({"api_key": "xyz"}, 403, "Invalid api_key received"),
    ({"api_key": NOT_A_KEY}, 403, "Invalid api_key received"),
    ({"service_code": None}, 400, "service_code was not provided"),
    ({"service_code": "001"}, 404, "service_code '001' was not found"),
    ({"jurisdiction_id": "city.gov"}, 404, "jurisdiction_id 'city.gov' was not found"),
    ({"lat": None, "long": None, "address_string": None}, 400, "a location is required"),
    ({"long": None, "address_string": None}, 400, "lat and long must be sent together"),
    ({"lat": None, "long": None}, 400, "location unresolvable"),
    ({"lat": "37.76524078", "long": "-122.4212043", "address_string": None}, 400,
     "is not inside any grid"),
    ({"lat": "north"}, 400, "lat: "),
    ({"lat": "123"}, 400, "lat: "),
    ({"attribute[urgent]": "very"}, 400, "attribute[urgent] must be one of"),
    ({"phone": "call me"}, 400, "phone: "),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url must be an http or https URL"),
    ({"description": "x" * 4001}, 400, "description: "),
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_documented_errors(o311, api_key, sessions, changes, status, message, fmt):
    before = await ticket_count(sessions)
    r = await post(o311, spec_body(api_key, **changes), fmt)
    assert r.status_code == status, r.text
    (code, description), *_ = errors_of(r)
    assert code == str(status) and message in description
    assert await ticket_count(sessions) == before


async def test_a_revoked_key_is_403(o311, revoked_key):
    r = await post(o311, spec_body(revoked_key))
    assert r.status_code == 403 and "revoked" in r.json()[0]["description"]


async def test_a_key_bound_elsewhere_may_not_file_here_and_leaves_nothing_behind(
        o311, bh02_key, sessions):
    r = await post(o311, spec_body(bh02_key))
    assert r.status_code == 400 and "in your scope" in r.json()[0]["description"]
    async with sessions() as s:
        key_id = (await s.execute(select(ApiKey.id).where(
            ApiKey.prefix == bh02_key.split("_")[1]))).scalar_one()
        claimed = (await s.execute(select(func.count()).select_from(IdempotencyRecord).where(
            IdempotencyRecord.owner == f"api_key:{key_id}"))).scalar_one()
    assert claimed == 0  # the whole request was rolled back, its dedupe claim too


# --- retries ---------------------------------------------------------------------------------


async def test_a_retry_returns_the_first_request(o311, api_key, sessions):
    body = spec_body(api_key)
    first = await post(o311, body)
    count = await ticket_count(sessions)
    again = await post(o311, body, "xml")
    assert again.status_code == 200
    number = first.json()[0]["service_request_id"]
    assert xml(again).findtext("request/service_request_id") == number
    assert again.headers["x-open311-replayed"] == "true"
    assert first.headers["x-open311-replayed"] == "false"
    assert await ticket_count(sessions) == count


async def test_a_retry_across_a_bucket_edge_returns_the_first_request(o311, api_key, clock):
    body = spec_body(api_key)
    clock.set(T0 - timedelta(seconds=1))  # T0 is on a 10-minute boundary
    first = await post(o311, body)
    clock.set(T0 + timedelta(seconds=2))
    again = await post(o311, body)
    assert again.json() == first.json()


async def test_the_same_content_after_the_window_is_a_new_report(o311, api_key, clock):
    body = spec_body(api_key)
    clock.set(T0 + timedelta(seconds=60))
    first = await post(o311, body)
    clock.set(T0 + timedelta(seconds=60) + timedelta(minutes=10, seconds=1))
    later = await post(o311, body)
    assert later.json()[0]["service_request_id"] != first.json()[0]["service_request_id"]


async def test_other_content_or_another_key_is_another_request(o311, api_key, sessions):
    from tests.open311.conftest import _new_key

    other_key = await _new_key(sessions, name=f"second app {uuid.uuid4().hex[:6]}")
    body = spec_body(api_key)
    first = (await post(o311, body)).json()[0]["service_request_id"]
    changed = (await post(o311, body.replace("[urgent]=urgent", "[urgent]=normal"))).json()
    from_other = (await post(o311, body.replace(api_key, other_key))).json()
    assert len({first, changed[0]["service_request_id"],
                from_other[0]["service_request_id"]}) == 3


@pytest.mark.parametrize("key_stamped", [True, False], ids=["key-stamped", "key-due-a-stamp"])
async def test_concurrent_twins_file_one_ticket(o311, api_key, sessions, key_stamped):
    # A key not stamped this minute is stamped by the first request to lock its row; the
    # others skip the stamp. That lock must not stop their tickets' foreign-key check on
    # the key while the first waits for their idempotency record: a deadlock (seen when
    # the stamp locked the row FOR UPDATE; it takes FOR NO KEY UPDATE now).
    if not key_stamped:
        async with unit_of_work(sessions) as s:
            await s.execute(update(ApiKey).where(ApiKey.prefix == api_key.split("_")[1])
                            .values(last_used_at=None))
    body = spec_body(api_key)
    before = await ticket_count(sessions)
    answers = await asyncio.gather(*(post(o311, body) for _ in range(3)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len({a.json()[0]["service_request_id"] for a in answers}) == 1
    assert await ticket_count(sessions) == before + 1


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_nul_in_a_field_is_a_400_naming_it_and_files_nothing(o311, api_key, sessions,
                                                                      fmt):
    before = await ticket_count(sessions)
    r = await post(o311, spec_body(api_key, description="路面塌陷\x00"), fmt)
    assert r.status_code == 400, r.text
    (code, description), = errors_of(r)[:1]
    assert code == "400" and description.startswith("description:")
    assert "cannot be stored" in description
    assert await ticket_count(sessions) == before


async def test_a_nul_in_a_query_is_a_400_not_a_server_error(o311):
    r = await o311.get("requests.json", params={"service_code": "0202\x00"})
    assert r.status_code == 400 and errors_of(r)[0][1].startswith("service_code:")
