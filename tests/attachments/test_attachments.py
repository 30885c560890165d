"""Photo uploads: checked by content, size-limited, linked once, visible by scope."""

from __future__ import annotations

import io

import pytest
from PIL import Image

pytestmark = pytest.mark.usefixtures("reference")


def png_bytes(colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return buf.getvalue()


async def upload(client, headers, data: bytes, name="photo.png", ctype="image/png"):
    return await client.post("/api/v1/attachments", files={"file": (name, data, ctype)},
                             headers=headers)


async def test_upload_a_photo_and_reference_it_from_a_ticket(client, token_for):
    r = await upload(client, token_for("gw01"), png_bytes())
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["content_type"] == "image/png" and att["ticket_id"] is None
    t = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0202", "description": "垃圾", "attachments": [att["id"]]})
    assert t.status_code == 201, t.text
    assert t.json()["attachments"] == [att["id"]]
    got = await client.get(f"/api/v1/attachments/{att['id']}", headers=token_for("cd01"))
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    # the served copy is re-encoded from the pixels (see test_photos): same picture
    served = Image.open(io.BytesIO(got.content))
    assert served.convert("RGB").tobytes() == Image.open(io.BytesIO(png_bytes())).tobytes()
    assert (await client.get(f"/api/v1/attachments/{att['id']}",
                             headers=token_for("cd02"))).status_code == 404
    # an attachment can be used once
    again = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0202", "description": "垃圾", "attachments": [att["id"]]})
    assert again.status_code == 422
    assert again.json()["errors"][0]["loc"] == ["body", "attachments", 0]


async def test_type_is_checked_by_content_not_by_name(client, token_for):
    r = await upload(client, token_for("gw01"), b"MZ\x90\x00 not an image", name="photo.jpg",
                     ctype="image/jpeg")
    assert r.status_code == 415
    assert r.json()["errors"][0]["loc"] == ["body", "file"]
    # a real PNG named .txt with a text content type is still accepted as a PNG
    r = await upload(client, token_for("gw01"), png_bytes((1, 2, 3)), name="notes.txt",
                     ctype="text/plain")
    assert r.status_code == 201 and r.json()["content_type"] == "image/png"


async def test_too_large_is_413(client, token_for, settings):
    big = b"\x89PNG\r\n\x1a\n" + b"0" * settings.attachment_max_bytes
    r = await upload(client, token_for("gw01"), big)
    assert r.status_code == 413


async def test_someone_elses_unlinked_attachment_cannot_be_used(client, token_for):
    att = (await upload(client, token_for("gw02"), png_bytes((9, 9, 9)))).json()
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0202", "description": "垃圾", "attachments": [att["id"]]})
    assert r.status_code == 422
    assert (await client.get(f"/api/v1/attachments/{att['id']}",
                             headers=token_for("gw01"))).status_code == 404


async def test_missing_file_field_is_422(client, token_for):
    r = await client.post("/api/v1/attachments", data={"x": "y"}, headers=token_for("gw01"))
    assert r.status_code == 422
    assert ["body", "file"] in [e["loc"] for e in r.json()["errors"]]
