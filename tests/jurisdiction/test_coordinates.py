"""GCJ-02 and BD-09 → WGS-84 against published reference points.

Sources of the reference values (data only; no code is taken from them):

- eviltransform (github.com/googollee/eviltransform, ``python/test.py``, MIT): three WGS-84 /
  GCJ-02 pairs (Shanghai, Shenzhen, Beijing) given to 15 digits, which every implementation
  of the published GCJ-02 formula reproduces exactly;
- gcoord (github.com/hujiulong/gcoord, ``test/fixtures/china-cities.json``, MIT): city
  centres with WGS84, GCJ02 and BD09 to 7 decimals. Its BD09 and GCJ02 columns agree with
  the formulas to millimetres; its WGS84 column sits a constant ~0.66 m from its GCJ02
  column's exact inverse, so those are checked to 1 m.
"""

from __future__ import annotations

import math

import pytest

from app.jurisdiction.coordinates import (
    CoordinateSystem,
    degrees_around,
    distance_m,
    from_wgs84,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)

# eviltransform python/test.py: (wgs lat, wgs lon, gcj lat, gcj lon)
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]

# gcoord test/fixtures/china-cities.json: name, WGS84 [lon, lat], GCJ02 [lon, lat], BD09 [lon, lat]
GCOORD = [
    ("驻马店市", (114.0164322, 33.0133556), (114.022306, 33.0115324), (114.0287781, 33.0176697)),
    ("邢台市", (114.498916, 37.0700925), (114.5048503, 37.0705911), (114.5113116, 37.0766797)),
    ("那曲地区", (92.0499619, 31.4784436), (92.0512438, 31.4762063), (92.0576832, 31.4824421)),
    ("沈阳市", (123.4253306, 41.8032629), (123.4314787, 41.8057023), (123.438095, 41.8114013)),
    ("汕头市", (116.6775114, 23.3567569), (116.6819735, 23.3540964), (116.6885014, 23.3598884)),
    ("酒泉市", (98.4937175, 39.7319946), (98.4943595, 39.7328234), (98.5008441, 39.7388949)),
]


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM)
def test_wgs84_to_gcj02_reproduces_the_published_pairs(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lat, lon = wgs84_to_gcj02(wgs_lat, wgs_lon)
    assert lat == pytest.approx(gcj_lat, abs=1e-9)
    assert lon == pytest.approx(gcj_lon, abs=1e-9)


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM)
def test_gcj02_to_wgs84_inverts_to_below_a_millimetre(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lat, lon = to_wgs84(gcj_lat, gcj_lon, CoordinateSystem.gcj02)
    assert distance_m(lat, lon, wgs_lat, wgs_lon) < 0.001


@pytest.mark.parametrize(("name", "wgs", "gcj", "bd"), GCOORD)
def test_city_reference_points(name, wgs, gcj, bd):
    from_bd = to_wgs84(bd[1], bd[0], CoordinateSystem.bd09)
    from_gcj = to_wgs84(gcj[1], gcj[0], CoordinateSystem.gcj02)
    assert distance_m(*from_bd, wgs[1], wgs[0]) < 1.0, name
    assert distance_m(*from_gcj, wgs[1], wgs[0]) < 1.0, name
    # Baidu's shift on top of GCJ-02 is reproduced to the fixture's 7 decimals (~1 cm).
    assert distance_m(*from_bd, *from_gcj) < 0.02, name
    bd_lat, bd_lon = from_wgs84(*from_gcj, CoordinateSystem.bd09)
    assert distance_m(bd_lat, bd_lon, bd[1], bd[0]) < 0.02, name


def test_the_shift_is_hundreds_of_metres_in_china_and_none_outside():
    lat, lon = 38.9190, 121.6193  # the demo street, Dalian
    assert 400 < distance_m(lat, lon, *wgs84_to_gcj02(lat, lon)) < 700
    assert 900 < distance_m(lat, lon, *from_wgs84(lat, lon, CoordinateSystem.bd09)) < 1400
    for system in CoordinateSystem:  # outside China's box, GCJ-02 is WGS-84 (BD-09 is not)
        if system is not CoordinateSystem.bd09:
            assert to_wgs84(51.5007, -0.1246, system) == (51.5007, -0.1246)
    assert to_wgs84(lat, lon, CoordinateSystem.wgs84) == (lat, lon)


def test_round_trips_over_china():
    for lat in range(18, 54, 5):
        for lon in range(74, 135, 6):
            for system in (CoordinateSystem.gcj02, CoordinateSystem.bd09):
                shown = from_wgs84(lat + 0.123, lon + 0.456, system)
                back = to_wgs84(*shown, system)
                assert distance_m(*back, lat + 0.123, lon + 0.456) < 0.001, (lat, lon, system)
    assert gcj02_to_wgs84(*wgs84_to_gcj02(55.8, 137.8)) == pytest.approx((55.8, 137.8), abs=1e-9)


def test_distance_and_the_box_around_a_point():
    assert distance_m(39.9, 116.4, 39.9, 116.4) == 0
    one_degree_of_latitude = distance_m(39.0, 116.4, 40.0, 116.4)
    assert one_degree_of_latitude == pytest.approx(111_195, rel=1e-3)
    d_lat, d_lon = degrees_around(38.9, 100.0)
    assert distance_m(38.9, 121.6, 38.9 + d_lat, 121.6) == pytest.approx(100.0, rel=1e-6)
    assert distance_m(38.9, 121.6, 38.9, 121.6 + d_lon) >= 100.0 - 1e-6
    assert d_lon == pytest.approx(d_lat / math.cos(math.radians(38.9)), rel=1e-4)
    # Every point within the radius is inside the box, those further from the equator too.
    for i in range(-60, 61):
        for j in range(-60, 61):
            lat, lon = 38.9 + i / 50 * d_lat, 121.6 + j / 50 * d_lon
            if distance_m(38.9, 121.6, lat, lon) <= 100.0:
                assert abs(lat - 38.9) <= d_lat and abs(lon - 121.6) <= d_lon, (i, j)


@pytest.mark.parametrize("system", list(CoordinateSystem))
def test_every_result_is_a_valid_coordinate(system):
    for lat in (-90.0, -89.99, 0.0, 89.99, 90.0):
        for lon in (-180.0, -179.99, 0.0, 179.99, 180.0):
            for convert in (to_wgs84, from_wgs84):
                out_lat, out_lon = convert(lat, lon, system)
                assert -90 <= out_lat <= 90 and -180 <= out_lon <= 180, (convert, lat, lon)
