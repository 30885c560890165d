"""GET requests, requests/{id} and tokens/{token} in both formats: public, non-personal,
only what was filed through Open311; and a request's status follows its ticket to closed."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import Image

from app.open311.formats import w3c
from tests.open311.conftest import INSIDE_BH01_01
from tests.open311.test_post import post, spec_body
from tests.open311.test_services import errors_of, xml

pytestmark = pytest.mark.usefixtures("reference")

REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "agency_responsible", "service_notice",
                  "requested_datetime", "updated_datetime", "expected_datetime", "address",
                  "address_id", "zipcode", "lat", "long", "media_url", "extended_attributes"]
PERSONAL = ("111111111", "smit333", "john", "smith", "123456", "tt222111")


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 200, 10)).save(buf, format="PNG")
    return buf.getvalue()


async def file(o311, api_key: str, **changes) -> str:
    r = await post(o311, spec_body(api_key, **changes))
    assert r.status_code == 200, r.text
    return r.json()[0]["service_request_id"]


async def test_one_request_json(o311, api_key, matrix_items):
    number = await file(o311, api_key)
    r = await o311.get(f"requests/{number}.json", params={"jurisdiction_id": "BH"})
    assert r.status_code == 200
    (request,) = r.json()
    assert list(request) == REQUEST_FIELDS
    assert request | {"description": None, "service_notice": None, "status_notes": None,
                      "expected_datetime": None} == {
        "service_request_id": number, "status": "open", "status_notes": None,
        "service_name": matrix_items["0202"].name, "service_code": "0202", "description": None,
        "agency_responsible": "环卫所", "service_notice": None,
        "requested_datetime": "2026-11-23T10:00:00+08:00",
        "updated_datetime": "2026-11-23T10:00:00+08:00", "expected_datetime": None,
        "address": "1234 5th street", "address_id": "BH01-01", "zipcode": None,
        "lat": INSIDE_BH01_01[0], "long": INSIDE_BH01_01[1],
        "media_url": "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg",
        "extended_attributes": {"detailed_status": "RECEIVED", "whistle_status": "dispatched"},
    }
    assert request["description"].startswith("A large sinkhole")
    assert "环卫所" in request["service_notice"]
    assert not any(p in r.text for p in PERSONAL)  # reads are public: nothing personal


async def test_the_deadline_is_the_tickets(o311, client, api_key, token_for):
    number = await file(o311, api_key)
    t = (await client.get(f"/api/v1/tickets/{int(number.split('-')[1])}",
                          headers=token_for("admin"))).json()
    (request,) = (await o311.get(f"requests/{number}.json")).json()
    due = t["resolve_due_at"]
    assert request["expected_datetime"] == (w3c(datetime.fromisoformat(due)) if due else None)


@pytest.mark.parametrize(("level", "agency"), [("community", "海韵社区"),
                                               ("grid", "海韵社区第一网格")])
async def test_the_agency_of_a_case_held_in_the_tree_is_that_node(o311, api_key, pick_item,
                                                                  level, agency):
    number = await file(o311, api_key, service_code=pick_item(level=level))
    (request,) = (await o311.get(f"requests/{number}.json")).json()
    assert request["agency_responsible"] == agency
    assert agency in request["service_notice"]


async def test_one_request_xml(o311, api_key):
    number = await file(o311, api_key, media_url=None)
    r = await o311.get(f"requests/{number}.xml")
    root = xml(r)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert [c.tag for c in request] == REQUEST_FIELDS
    assert request.findtext("service_request_id") == number
    assert request.findtext("status") == "open" and request.findtext("address_id") == "BH01-01"
    assert request.find("media_url").text is None and request.find("zipcode").text is None
    assert not any(p in r.text for p in PERSONAL)


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("number", ["20261123-9999999", "638344", "19991231-0000001"])
async def test_unknown_request_is_404(o311, fmt, number):
    r = await o311.get(f"requests/{number}.{fmt}")
    assert r.status_code == 404
    assert errors_of(r) == [("404", f"service_request_id {number!r} was not found")]


async def test_a_wrong_date_in_the_number_is_404(o311, api_key):
    number = await file(o311, api_key)
    wrong = "20261124" + number[8:]
    assert (await o311.get(f"requests/{wrong}.json")).status_code == 404


async def test_tickets_not_filed_through_open311_are_not_public(o311, client, token_for):
    r = await client.post("/api/v1/tickets", json={"grid": "BH01-01", "item": "0202",
                                                  "description": "内部案件"},
                          headers=token_for("gw01"))
    number = r.json()["number"]
    assert (await o311.get(f"requests/{number}.json")).status_code == 404
    listed = await o311.get("requests.json", params={"service_request_id": number})
    assert listed.json() == []


async def test_a_request_outside_the_jurisdiction_is_not_found(o311, api_key, sessions):
    # The demo has one street; another street's id stands in for a second jurisdiction
    # (importing one would change the reference data every other test reads).
    from app.open311 import reads
    from app.open311.formats import Open311Error
    from tests.conftest import T0

    number = await file(o311, api_key)
    another_street = -1
    async with sessions() as session:
        with pytest.raises(Open311Error) as caught:
            await reads.get_request(session, number, another_street)
        assert caught.value.status == 404
        found = await reads.find_requests(session, reads.parse_query(
            service_request_id=number, service_code=None, start_date=None, end_date=None,
            status=None, street_id=another_street, now=T0))
        assert found == []
        query = reads.parse_query(service_request_id=None, service_code=None, start_date=None,
                                  end_date=None, status=None, street_id=another_street, now=T0)
        assert await reads.find_requests(session, query) == []


# --- the list --------------------------------------------------------------------------------


async def test_ids_override_the_other_filters(o311, api_key):
    a, b = await file(o311, api_key), await file(o311, api_key)
    r = await o311.get("requests.json", params={"service_request_id": f"{a},{b},junk",
                                                "status": "closed", "service_code": "0101"})
    assert sorted(x["service_request_id"] for x in r.json()) == sorted([a, b])


async def test_list_filters_by_code_status_and_dates(o311, api_key, pick_item):
    other_code = pick_item(level="community")
    mine = await file(o311, api_key)
    other = await file(o311, api_key, service_code=other_code)
    numbers = lambda r: {x["service_request_id"] for x in r.json()}  # noqa: E731
    r = await o311.get("requests.json", params={"service_code": f"0202,{other_code}"})
    assert {mine, other} <= numbers(r)
    r = await o311.get("requests.json", params={"service_code": "0202"})
    assert mine in numbers(r) and other not in numbers(r)
    assert all(x["service_code"] == "0202" for x in r.json())
    assert mine in numbers(await o311.get("requests.json", params={"status": "open"}))
    assert mine not in numbers(await o311.get("requests.json", params={"status": "closed"}))
    inside = {"start_date": "2026-11-23T00:00:00Z", "end_date": "2026-11-24T00:00:00Z"}
    assert mine in numbers(await o311.get("requests.json", params=inside))
    before = {"start_date": "2026-10-01T00:00:00+08:00", "end_date": "2026-11-01T00:00:00+08:00"}
    assert mine not in numbers(await o311.get("requests.json", params=before))


async def test_list_is_newest_first(o311, api_key):
    a = await file(o311, api_key)
    b = await file(o311, api_key)
    listed = [x["service_request_id"] for x in (await o311.get("requests.json")).json()]
    assert listed.index(b) < listed.index(a)


async def test_list_xml(o311, api_key):
    number = await file(o311, api_key)
    root = xml(await o311.get("requests.xml", params={"service_request_id": number}))
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [number]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("params", "message"), [
    ({"start_date": "last week"}, "W3C"),
    ({"end_date": "2026-11-01T00:00:00"}, "time zone"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}, "90 days"),
    ({"start_date": "2026-11-02T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}, "before"),
    ({"status": "pending"}, "open or closed"),
])
async def test_bad_filters_are_400(o311, fmt, params, message):
    r = await o311.get(f"requests.{fmt}", params=params)
    assert r.status_code == 400
    assert message in errors_of(r)[0][1]


# --- tokens ----------------------------------------------------------------------------------


async def test_token_json_and_xml(o311, api_key):
    number = await file(o311, api_key)
    r = await o311.get(f"tokens/{number}.json", params={"jurisdiction_id": "BH"})
    assert r.json() == [{"service_request_id": number, "token": number}]
    request = xml(await o311.get(f"tokens/{number}.xml")).find("request")
    assert [c.tag for c in request] == ["service_request_id", "token"]
    assert request.findtext("token") == number


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_unknown_token_is_404(o311, fmt):
    r = await o311.get(f"tokens/12345.{fmt}")
    assert r.status_code == 404 and errors_of(r) == [("404", "token '12345' was not found")]


# --- the department works it like any other ticket ------------------------------------------


async def test_the_department_works_it_and_the_request_closes(o311, client, api_key, token_for,
                                                              matrix_items):
    code = next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF"
                and not i.photo_required)
    number = await file(o311, api_key, service_code=code, media_url=None)
    ticket_id = int(number.split("-")[1])
    staff, gw = token_for("cgzf_staff"), token_for("gw01")
    photo = await client.post("/api/v1/attachments", headers=staff,
                              files={"file": ("result.png", png(), "image/png")})
    assert photo.status_code == 201, photo.text
    queue = await client.get("/api/v1/departments/CGZF/queue", headers=staff)
    assert ticket_id in [t["id"] for t in queue.json()]
    seen = await client.get(f"/api/v1/tickets/{ticket_id}", headers=staff)
    assert seen.status_code == 200 and seen.json()["source"] == "open311"
    for path, body, who in [("claim", None, staff), ("start", None, staff),
                            ("resolve", {"result": "已清理完毕，恢复通行",
                                         "attachments": [photo.json()["id"]]}, staff),
                            ("verify", {"passed": True}, gw)]:
        r = await client.post(f"/api/v1/tickets/{ticket_id}/{path}", json=body, headers=who)
        assert r.status_code == 200, (path, r.text)
    assert r.json()["status"] == "closed"
    (request,) = (await o311.get(f"requests/{number}.json")).json()
    assert request["status"] == "closed"
    assert request["status_notes"] == "已清理完毕，恢复通行"
    assert request["agency_responsible"] == "城管执法中队"
    assert request["service_notice"] is None
    assert request["updated_datetime"] == w3c(datetime.fromisoformat(r.json()["closed_at"]))
    # No media_url was sent and the reporter sent no photo: the handler's result photo is
    # not the reporter's (it is in the resolve update: tests/open311/test_updates.py)
    assert request["media_url"] is None
    assert request["extended_attributes"] == {"detailed_status": "PROCESSED",
                                              "whistle_status": "closed"}
    numbers = lambda p: {x["service_request_id"] for x in p.json()}  # noqa: E731
    assert number in numbers(await o311.get("requests.json", params={"status": "closed"}))
    assert number not in numbers(await o311.get("requests.json", params={"status": "open"}))
    root = xml(await o311.get(f"requests/{number}.xml"))
    assert root.findtext("request/status") == "closed"
