"""Open311's lat/long take Whistle's ``coordinate_system`` extension (default: the spec's
WGS-84); the reference point is the one of tests/tickets/test_coordinate_systems.py."""

from __future__ import annotations

import pytest

from app.jurisdiction.coordinates import distance_m
from tests.open311.test_post import FORM, spec_body
from tests.tickets.test_coordinate_systems import GCJ02, WGS84

pytestmark = pytest.mark.usefixtures("reference")


async def test_open311_lat_long_take_the_system(o311, client, api_key, token_for):
    changes = {"lat": str(GCJ02[0]), "long": str(GCJ02[1]), "address_string": None}
    r = await o311.post("requests.json", headers=FORM, content=spec_body(
        api_key, coordinate_system="gcj02", **changes).encode())
    assert r.status_code == 200, r.text
    number = r.json()[0]["service_request_id"]
    ticket_id = int(number.split("-")[1])
    t = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=token_for("admin"))).json()
    assert t["grid"] == "BH01-01"
    assert distance_m(t["location"]["lat"], t["location"]["lon"], *WGS84) < 0.01
    # Without it, lat/long are the spec's WGS-84.
    r = await o311.post("requests.json", headers=FORM, content=spec_body(api_key, **changes)
                        .encode())
    ticket_id = int(r.json()[0]["service_request_id"].split("-")[1])
    t = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=token_for("admin"))).json()
    assert t["grid"] == "BH01-02"
    bad = await o311.post("requests.json", headers=FORM, content=spec_body(
        api_key, coordinate_system="baidu", **changes).encode())
    assert bad.status_code == 400
    assert "coordinate_system" in bad.json()[0]["description"]
