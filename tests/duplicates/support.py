"""Points and posts for the duplicate tests.

The test database is shared by the whole session and its clock is frozen, so every test
works around a point of its own: a random spot on a grid border, with items and metres
chosen so that no other test's tickets come near it.
"""

from __future__ import annotations

import math
import random
import uuid

# The border between grid BH01-02 (gw01's) and BH02-01 (gw02's), from south to north.
BORDER = ((38.916746, 121.626841), (38.921362, 121.625872))
METRES_PER_DEGREE_LAT = 111_195.0


def border_point() -> tuple[float, float]:
    """A random point on the BH01-02 / BH02-01 border, near its middle: 150 m north or
    south of it is still on that border."""
    t = random.uniform(0.4, 0.6)
    (lat1, lon1), (lat2, lon2) = BORDER
    return lat1 + t * (lat2 - lat1), lon1 + t * (lon2 - lon1)


def _per_lon(lat: float) -> float:
    return METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))


def moved(point: tuple[float, float], *, east_m: float = 0.0,
          along_m: float = 0.0) -> tuple[float, float]:
    """``point`` moved east, then ``along_m`` parallel to the border (northwards), so that
    a point stays on its side of the border however far along it goes."""
    (lat1, lon1), (lat2, lon2) = BORDER
    north = (lat2 - lat1) * METRES_PER_DEGREE_LAT
    east = (lon2 - lon1) * _per_lon(lat1)
    length = math.hypot(north, east)
    lat, lon = point
    d_north, d_east = along_m * north / length, east_m + along_m * east / length
    return lat + d_north / METRES_PER_DEGREE_LAT, lon + d_east / _per_lon(lat)


async def post(client, headers, item: str, point: tuple[float, float], **extra) -> dict:
    body = {"item": item, "location": {"lat": point[0], "lon": point[1]},
            "description": f"井盖缺失 {uuid.uuid4().hex[:8]}"} | extra
    r = await client.post("/api/v1/tickets", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()
