"""Photos from phones: HEIC accepted and stored as JPEG, thumbnails for lists, the EXIF
time and position kept as evidence for those who may see the reporter and stripped from
every copy served, and signed links that need no credentials."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from PIL import ExifTags, Image
from sqlalchemy import insert

from app.attachments import service
from app.attachments.models import Attachment
from app.db import unit_of_work

pytestmark = pytest.mark.usefixtures("reference")

# Where the photo was taken: a point in grid BH01-01, at 09:41 Beijing time.
LAT, LON = (38.0, 55.0, 8.4), (121.0, 37.0, 1.2)
EVIDENCE = {"taken_at": "2026-11-23T09:41:05+08:00",
            "gps": {"lat": 38.919, "lon": 121.617, "altitude_m": 12.5},
            "camera": "Apple iPhone 15"}


def exif_with_gps(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15"
    exif[ExifTags.Base.Orientation] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = "2026:11:23 09:41:05"
    sub[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", LAT
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", LON
    gps[ExifTags.GPS.GPSAltitudeRef], gps[ExifTags.GPS.GPSAltitude] = 0, 12.5
    return exif.tobytes()


def photo(fmt: str, size=(1200, 900), colour=(200, 30, 30), orientation: int = 1) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt, exif=exif_with_gps(orientation))
    return buffer.getvalue()


def has_gps(data: bytes) -> bool:
    image = Image.open(io.BytesIO(data))
    return bool(image.getexif().get_ifd(ExifTags.IFD.GPSInfo)) or b"GPS" in data


async def upload(client, headers, data: bytes, name: str, ctype: str):
    return await client.post("/api/v1/attachments", files={"file": (name, data, ctype)},
                             headers=headers)


async def post_with(client, token_for, attachment_id: int) -> dict:
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0202", "description": "垃圾", "attachments": [attachment_id]})
    assert r.status_code == 201, r.text
    return r.json()


def test_the_test_photos_really_carry_gps():
    assert has_gps(photo("JPEG")) and has_gps(photo("HEIF"))


async def test_an_iphone_heic_is_accepted_and_served_as_jpeg_without_gps(client, token_for):
    heic = photo("HEIF")
    assert Image.open(io.BytesIO(heic)).format == "HEIF"
    r = await upload(client, token_for("gw01"), heic, "IMG_0042.HEIC", "image/heic")
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["content_type"] == "image/jpeg" and att["original_content_type"] == "image/heic"
    assert att["evidence"] == EVIDENCE  # the uploader sees what their phone recorded
    got = await client.get(att["url"], headers=token_for("gw01"))
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert 'filename="IMG_0042.jpg"' in got.headers["content-disposition"]
    served = Image.open(io.BytesIO(got.content))
    assert served.format == "JPEG" and served.size == (1200, 900)
    assert not has_gps(got.content)


async def test_a_jpeg_is_served_stripped_and_upright(client, token_for):
    # EXIF orientation 6: the camera held sideways; the pixels are stored 1200×900
    r = await upload(client, token_for("gw01"), photo("JPEG", orientation=6), "p.jpg",
                     "image/jpeg")
    att = r.json()
    got = await client.get(att["url"], headers=token_for("gw01"))
    assert not has_gps(got.content) and Image.open(io.BytesIO(got.content)).getexif() == {}
    assert Image.open(io.BytesIO(got.content)).size == (900, 1200)  # turned upright


async def test_evidence_is_shown_only_to_those_who_may_see_the_reporter(client, token_for):
    att = (await upload(client, token_for("gw01"), photo("JPEG", colour=(1, 2, 3)), "p.jpg",
                        "image/jpeg")).json()
    await post_with(client, token_for, att["id"])
    meta = f"/api/v1/attachments/{att['id']}/metadata"
    for who in ("gw01", "cd01", "sd", "admin"):  # uploader, dispatchers, admin
        r = await client.get(meta, headers=token_for(who))
        assert r.status_code == 200 and r.json()["evidence"] == EVIDENCE, (who, r.text)
    # the supervisor sees the ticket with its reporter masked: no position, no time
    r = await client.get(meta, headers=token_for("sup_bh"))
    assert r.status_code == 200 and r.json()["evidence"] is None
    assert r.json()["sha256"] == att["sha256"]
    photo_served = await client.get(att["url"], headers=token_for("sup_bh"))
    assert photo_served.status_code == 200 and not has_gps(photo_served.content)
    # out of scope: nothing at all
    assert (await client.get(meta, headers=token_for("cd02"))).status_code == 404


async def test_thumbnails_for_lists(client, token_for):
    att = (await upload(client, token_for("gw01"), photo("HEIF", colour=(5, 90, 5)),
                        "t.heic", "image/heic")).json()
    ticket = await post_with(client, token_for, att["id"])
    assert ticket["thumbnail_url"] == f"/api/v1/attachments/{att['id']}/thumbnail"
    listed = await client.get("/api/v1/tickets", headers=token_for("cd01"),
                              params={"item": "0202", "limit": 100})
    row = next(t for t in listed.json()["items"] if t["id"] == ticket["id"])
    assert row["thumbnail_url"] == ticket["thumbnail_url"]
    thumb = await client.get(row["thumbnail_url"], headers=token_for("cd01"))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(thumb.content))
    assert image.format == "JPEG" and max(image.size) == 320 and not has_gps(thumb.content)
    assert (await client.get(row["thumbnail_url"], headers=token_for("cd02"))).status_code == 404


async def test_a_photo_stored_before_copies_existed_is_never_served_with_its_gps(
        client, token_for, sessions, settings):
    data = photo("JPEG", colour=(7, 7, 200))
    legacy = settings.attachment_dir / "legacy" / "old.jpg"
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_bytes(data)
    async with unit_of_work(sessions) as session:
        user_id = (await client.get("/api/v1/auth/me", headers=token_for("gw01"))).json()["id"]
        attachment_id = (await session.execute(insert(Attachment).returning(Attachment.id), {
            "sha256": hashlib.sha256(data).hexdigest(), "content_type": "image/jpeg",
            "size": len(data), "filename": "old.jpg", "storage_key": "legacy/old.jpg",
            "uploaded_by_user_id": user_id})).scalar_one()
    got = await client.get(f"/api/v1/attachments/{attachment_id}", headers=token_for("gw01"))
    assert got.status_code == 200 and not has_gps(got.content)
    meta = (await client.get(f"/api/v1/attachments/{attachment_id}/metadata",
                             headers=token_for("gw01"))).json()
    assert meta["evidence"] == EVIDENCE and meta["original_content_type"] == "image/jpeg"
    assert legacy.read_bytes() == data  # the upload itself is kept, as evidence


async def test_a_signed_link_needs_no_credentials_and_cannot_be_forged(
        client, token_for, settings, clock):
    att = (await upload(client, token_for("gw01"), photo("HEIF", colour=(90, 9, 9)), "s.heic",
                        "image/heic")).json()
    await post_with(client, token_for, att["id"])
    link = service.media_link(secret=settings.secret_key, attachment_id=att["id"],
                              now=clock.now(), days=7)
    got = await client.get(link)  # no Authorization
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert not has_gps(got.content)
    # another photo's id under this signature, or a later expiry: 403
    other = link.replace(f"/media/{att['id']}?", f"/media/{att['id'] + 1}?")
    later = link.replace("expires=", "expires=9")
    for forged in (other, later, link[:-2] + ("AA" if not link.endswith("AA") else "BB")):
        r = await client.get(forged)
        assert r.status_code == 403, forged
        assert r.headers["content-type"].startswith("application/problem+json")
    clock.advance(timedelta(days=9))
    r = await client.get(link)
    assert r.status_code == 410 and r.json()["errors"][0]["loc"] == ["query", "expires"]


async def test_a_signed_link_to_an_unlinked_upload_is_404(client, token_for, settings, clock):
    att = (await upload(client, token_for("gw01"), photo("JPEG", colour=(3, 3, 3)), "u.jpg",
                        "image/jpeg")).json()
    link = service.media_link(secret=settings.secret_key, attachment_id=att["id"],
                              now=clock.now(), days=7)
    assert (await client.get(link)).status_code == 404
