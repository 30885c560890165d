"""Open311 follows the case: mySociety's servicerequestupdates (GET and POST, as
FixMyStreet's Open311.pm uses them), the reporter's photo at a signed link any client can
fetch, cancelled and merged cases that say so, and updated_after/updated_before."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import quote_plus

import pytest
from PIL import ExifTags, Image

from app.open311.formats import w3c
from app.tickets.models import parse_ticket_number
from tests.attachments.test_photos import has_gps, photo
from tests.open311.test_post import FORM, spec_body
from tests.open311.test_reads import file
from tests.open311.test_services import errors_of, xml

pytestmark = pytest.mark.usefixtures("reference")

UPDATE_FIELDS = ["update_id", "service_request_id", "status", "updated_datetime",
                 "description", "media_url", "external_status_code"]


def form(**fields: str | None) -> bytes:
    return "&".join(f"{k}={quote_plus(v)}" for k, v in fields.items()
                    if v is not None).encode()


async def updates(o311, clock, fmt: str = "json", **params):
    """What FixMyStreet's fetcher asks: the last two hours (both dates, as it sends them)."""
    now = clock.now()
    params = {"jurisdiction_id": "BH", "api_key": "ignored",
              "start_date": w3c(now - timedelta(hours=2)), "end_date": w3c(now)} | params
    return await o311.get(f"servicerequestupdates.{fmt}", params=params)


def of(found, number: str) -> list[dict]:
    return [u for u in found if u["service_request_id"] == number]


async def street_item(matrix_items) -> str:
    return next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF"
                and not i.photo_required)


# --- media_url: the reporter's photo, signed ----------------------------------------------


async def test_a_photo_sent_with_the_request_is_its_media_url_at_a_signed_link(
        o311, api_key, clock):
    fields = dict(pair.split("=", 1) for pair in spec_body(api_key, media_url=None).split("&"))
    from urllib.parse import unquote_plus
    data = {k: unquote_plus(v) for k, v in fields.items()}
    r = await o311.post("requests.json", data=data,
                        files={"media": ("IMG_1.HEIC", photo("HEIF"), "image/heic")})
    assert r.status_code == 200, r.text
    number = r.json()[0]["service_request_id"]
    (request,) = (await o311.get(f"requests/{number}.json")).json()
    link = request["media_url"]
    assert link.startswith("http://test/api/v1/media/") and "signature=" in link
    got = await o311.get(link)  # no credentials of any kind
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(got.content)).format == "JPEG" and not has_gps(got.content)
    tampered = link.replace("expires=", "expires=1")
    r = await o311.get(tampered)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem")
    clock.advance(timedelta(days=9))
    assert (await o311.get(link)).status_code == 410
    fresh = (await o311.get(f"requests/{number}.json")).json()[0]["media_url"]
    assert fresh != link and (await o311.get(fresh)).status_code == 200


async def test_a_photo_that_is_no_image_is_refused_in_open311s_format(o311, api_key):
    fields = {"api_key": api_key, "jurisdiction_id": "BH", "service_code": "0202",
              "address_id": "BH01-01", "description": "垃圾"}
    r = await o311.post("requests.json", data=fields,
                        files={"media": ("x.jpg", b"MZ not an image", "image/jpeg")})
    assert r.status_code == 400 and errors_of(r)[0][0] == "400"


# --- GET servicerequestupdates ------------------------------------------------------------


async def test_the_department_s_work_reaches_the_updates_feed(o311, client, api_key, token_for,
                                                             matrix_items, clock):
    number = await file(o311, api_key, service_code=await street_item(matrix_items),
                        media_url=None)
    ticket_id = parse_ticket_number(number)
    result = await client.post("/api/v1/attachments", headers=token_for("cgzf_staff"),
                               files={"file": ("r.jpg", photo("JPEG"), "image/jpeg")})
    steps = [("claim", None, "cgzf_staff"), ("start", None, "cgzf_staff"),
             ("resolve", {"result": "已清理完毕，恢复通行",
                          "attachments": [result.json()["id"]]}, "cgzf_staff"),
             ("verify", {"passed": True}, "gw01")]
    for path, body, who in steps:
        clock.advance(timedelta(minutes=5))
        r = await client.post(f"/api/v1/tickets/{ticket_id}/{path}", json=body,
                              headers=token_for(who))
        assert r.status_code == 200, (path, r.text)
    r = await updates(o311, clock)
    assert r.status_code == 200, r.text
    found = of(r.json(), number)
    assert [list(u) for u in found] == [UPDATE_FIELDS] * 4
    assert [(u["status"], u["external_status_code"]) for u in found] == [
        ("investigating", "claimed"), ("in_progress", "in_progress"),
        ("in_progress", "resolved"), ("fixed", "closed")]
    assert found[2]["description"] == "已清理完毕，恢复通行"
    assert all(u["description"] for u in found)
    assert [u["media_url"] is not None for u in found] == [False, False, True, False]
    shown = await o311.get(found[2]["media_url"])
    assert shown.status_code == 200 and not has_gps(shown.content)
    assert found[-1]["updated_datetime"] == w3c(clock.now())
    assert len({u["update_id"] for u in found}) == 4
    # the XML FixMyStreet parses: <service_request_updates><request_update>…
    root = xml(await updates(o311, clock, "xml"))
    assert root.tag == "service_request_updates"
    mine = [u for u in root.findall("request_update")
            if u.findtext("service_request_id") == number]
    assert [u.findtext("status") for u in mine] == ["investigating", "in_progress",
                                                   "in_progress", "fixed"]
    # outside the window: nothing
    early = await updates(o311, clock, start_date=w3c(clock.now() - timedelta(days=3)),
                          end_date=w3c(clock.now() - timedelta(days=2)))
    assert of(early.json(), number) == []


async def test_a_cancelled_case_is_not_reported_fixed(o311, client, api_key, token_for,
                                                      clock):
    cancelled = await file(o311, api_key)
    duplicate, original = await file(o311, api_key), await file(o311, api_key)
    sd = token_for("sd")
    r = await client.post(f"/api/v1/tickets/{parse_ticket_number(cancelled)}/cancel",
                          json={"reason": "重复上报的无效信息"}, headers=sd)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/tickets/{parse_ticket_number(duplicate)}/merge",
                          json={"target_ticket_id": parse_ticket_number(original)}, headers=sd)
    assert r.status_code == 200, r.text
    found = (await updates(o311, clock)).json()
    assert [(u["status"], u["description"]) for u in of(found, cancelled)] == [
        ("no_further_action", "重复上报的无效信息")]
    assert [u["status"] for u in of(found, duplicate)] == ["duplicate"]
    for number, whistle in ((cancelled, "cancelled"), (duplicate, "merged")):
        (request,) = (await o311.get(f"requests/{number}.json")).json()
        assert request["status"] == "closed"
        assert request["extended_attributes"] == {"detailed_status": "REJECTED",
                                                  "whistle_status": whistle}
        root = xml(await o311.get(f"requests/{number}.xml"))
        assert root.findtext("request/extended_attributes/detailed_status") == "REJECTED"


async def test_internal_events_stay_out_of_the_feed(o311, client, api_key, token_for, clock):
    number = await file(o311, api_key)
    cd = token_for("cd01")
    ticket_id = parse_ticket_number(number)
    # a correction of the description is the office's business, not the resident's
    current = await client.get(f"/api/v1/tickets/{ticket_id}", headers=cd)
    r = await client.patch(f"/api/v1/tickets/{ticket_id}", json={"description": "更正"},
                           headers=cd | {"If-Match": current.headers["ETag"]})
    assert r.status_code == 200, r.text
    assert of((await updates(o311, clock)).json(), number) == []


async def test_update_windows_are_checked(o311, clock):
    now = clock.now()
    r = await updates(o311, clock, start_date=w3c(now), end_date=w3c(now - timedelta(hours=1)))
    assert r.status_code == 400 and "end_date" in errors_of(r)[0][1]
    r = await updates(o311, clock, start_date="yesterday")
    assert r.status_code == 400 and "start_date" in errors_of(r)[0][1]
    r = await updates(o311, clock, jurisdiction_id="NOPE")
    assert r.status_code == 404


# --- POST servicerequestupdates -----------------------------------------------------------


def fms_update(api_key: str, number: str, **changes: str | None) -> bytes:
    """What FixMyStreet's post_service_request_update sends for a user's comment."""
    return form(**({
        "jurisdiction_id": "BH", "api_key": api_key, "update_id": "8731",
        "updated_datetime": "2026-11-23T09:55:00+08:00", "service_request_id": number,
        "status": "OPEN", "description": "井盖还是没盖上，晚上很危险", "first_name": "john",
        "last_name": "smith", "email": "john@example.org",
    } | changes))


async def test_a_residents_comment_is_recorded_once(o311, client, api_key, token_for, clock):
    number = await file(o311, api_key)
    r = await o311.post("servicerequestupdates.xml", content=fms_update(api_key, number),
                        headers=FORM)
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.tag == "service_request_updates"
    update_id = root.findtext("request_update/update_id")
    assert update_id and r.headers["X-Open311-Replayed"] == "false"
    again = await o311.post("servicerequestupdates.json", content=fms_update(api_key, number),
                            headers=FORM)
    assert again.status_code == 200 and again.json() == [{"update_id": update_id}]
    assert again.headers["X-Open311-Replayed"] == "true"
    ticket_id = parse_ticket_number(number)
    events = (await client.get(f"/api/v1/tickets/{ticket_id}/events",
                               headers=token_for("admin"))).json()
    comments = [e for e in events if e["kind"] == "open311_update"]
    assert len(comments) == 1 and str(comments[0]["id"]) == update_id
    assert comments[0]["data"]["comment"] == "井盖还是没盖上，晚上很危险"
    assert comments[0]["data"]["update_id"] == "8731"
    assert "john" not in str(comments[0]["data"])  # contacts are not kept
    ticket = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=token_for("admin")))
    assert ticket.json()["status"] == "dispatched"  # a comment moves nothing
    # a CLOSED from the resident's side is recorded, and still moves nothing
    closed = await o311.post("servicerequestupdates.json", headers=FORM,
                             content=fms_update(api_key, number, update_id="8732",
                                                status="CLOSED"))
    assert closed.status_code == 200 and closed.json()[0]["update_id"] != update_id
    ticket = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=token_for("admin")))
    assert ticket.json()["status"] == "dispatched"
    # the resident's own words are not fed back as the office's updates
    assert of((await updates(o311, clock)).json(), number) == []


async def _comments_to(client, token_for, username: str, ticket_id: int) -> list[dict]:
    inbox = (await client.get("/api/v1/notifications", headers=token_for(username))).json()
    return [n for n in inbox["items"]
            if n["ticket_id"] == ticket_id and n["kind"] == "resident_comment"]


async def test_a_residents_comment_tells_whoever_holds_the_case(o311, client, api_key,
                                                                 token_for, matrix_items):
    number = await file(o311, api_key, service_code=await street_item(matrix_items),
                        media_url=None)
    ticket_id = parse_ticket_number(number)
    r = await o311.post("servicerequestupdates.json", headers=FORM,
                        content=fms_update(api_key, number))
    assert r.status_code == 200, r.text
    # Unclaimed: the department's queue is told, without the resident's own words.
    for username in ("cgzf_staff", "cgzf_staff2"):
        (told,) = await _comments_to(client, token_for, username, ticket_id)
        assert told["title"] == "居民留言" and number in told["body"]
        assert "井盖" not in told["body"]
    r = await client.post(f"/api/v1/tickets/{ticket_id}/claim", headers=token_for("cgzf_staff"))
    assert r.status_code == 200, r.text
    r = await o311.post("servicerequestupdates.json", headers=FORM,
                        content=fms_update(api_key, number, update_id="8740"))
    assert r.status_code == 200, r.text
    # Claimed: the assignee only.
    assert len(await _comments_to(client, token_for, "cgzf_staff", ticket_id)) == 2
    assert len(await _comments_to(client, token_for, "cgzf_staff2", ticket_id)) == 1
    assert await _comments_to(client, token_for, "hw_staff", ticket_id) == []


async def test_posting_an_update_is_checked(o311, api_key, bh02_key, revoked_key):
    number = await file(o311, api_key)
    cases = [
        (fms_update("", number), 403),
        (fms_update(revoked_key, number), 403),
        (fms_update(bh02_key, number), 404),  # a key updates only what it filed
        (fms_update(api_key, "20261123-9999999"), 404),
        (fms_update(api_key, ""), 400),
        (fms_update(api_key, number, status="MAYBE"), 400),
        (fms_update(api_key, number, description=""), 400),
        (fms_update(api_key, number, updated_datetime="noon"), 400),
        (fms_update(api_key, number, media_url="ftp://x/y.jpg"), 400),
        (fms_update(api_key, number, jurisdiction_id="NOPE"), 404),
    ]
    for body, status in cases:
        r = await o311.post("servicerequestupdates.json", content=body, headers=FORM)
        assert r.status_code == status, (body, r.text)
        assert errors_of(r)[0][0] == str(status)


# --- updated_after / updated_before ------------------------------------------------------


async def test_requests_changed_since_a_moment(o311, client, api_key, token_for, clock):
    quiet, touched = await file(o311, api_key), await file(o311, api_key)
    clock.advance(timedelta(hours=1))
    mark = clock.now()
    clock.advance(timedelta(minutes=10))
    r = await client.post(f"/api/v1/tickets/{parse_ticket_number(touched)}/cancel",
                          json={"reason": "无效"}, headers=token_for("sd"))
    assert r.status_code == 200, r.text
    numbers = lambda r: {x["service_request_id"] for x in r.json()}  # noqa: E731
    after = await o311.get("requests.json", params={"updated_after": w3c(mark)})
    assert after.status_code == 200, after.text
    assert touched in numbers(after) and quiet not in numbers(after)
    before = await o311.get("requests.json", params={"updated_before": w3c(mark)})
    assert quiet in numbers(before) and touched not in numbers(before)
    both = await o311.get("requests.json", params={"updated_after": w3c(mark),
                                                   "updated_before": w3c(clock.now())})
    assert touched in numbers(both)
    bad = await o311.get("requests.json", params={"updated_after": w3c(clock.now()),
                                                  "updated_before": w3c(mark)})
    assert bad.status_code == 400
    assert (await o311.get("requests.json", params={"updated_after": "soon"})).status_code == 400


def test_the_test_photo_has_gps_in_its_exif():
    image = Image.open(io.BytesIO(photo("HEIF")))
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
