"""Coordinate systems of Chinese phones, converted to the WGS-84 Whistle stores.

A phone's GPS fix is WGS-84, but the positions the map kits hand an app are not:

- ``gcj02`` (GCJ-02, 国测局坐标, "Mars coordinates"): Gaode/AMap, Tencent, Apple and Google
  maps inside China. WGS-84 shifted by a smooth, deliberately obscured offset of a few
  hundred metres;
- ``bd09`` (BD-09): Baidu, which adds its own rotation and shift on top of GCJ-02;
- ``wgs84``: raw GPS, the browser's Geolocation API, 天地图 (CGCS2000, within centimetres).

Whistle stores and answers WGS-84 only; :func:`to_wgs84` converts what a client sends.

The GCJ-02 forward formula is the widely published one (the same constants and terms as
every implementation: Krasovsky 1940 ellipsoid, offsets in metres from (105°E, 35°N)); it
is applied only inside the rough bounding box of China, as the map kits do. It has no
closed-form inverse, so GCJ-02 → WGS-84 is solved by fixed-point iteration to below a
millimetre (the one-step inverse most libraries ship is off by up to a few metres, which
matters next to a grid border). BD-09 ↔ GCJ-02 is Baidu's published polar shift, inverted
the same way.

Why not a library: the PyPI packages for this are either unmaintained since 2018–2019
(``eviltransform``, ``prcoords``, ``coord-convert``) or a compiled extension with the
one-step inverse (``coordTransform``); the algorithm is forty lines of arithmetic, and
``tests/jurisdiction/test_coordinates.py`` checks it against published reference points.
"""

from __future__ import annotations

import math
from enum import StrEnum


class CoordinateSystem(StrEnum):
    wgs84 = "wgs84"  # GPS, the browser's Geolocation API, 天地图
    gcj02 = "gcj02"  # 国测局 / "Mars": Gaode (高德), Tencent (腾讯)
    bd09 = "bd09"  # Baidu (百度)


DEFAULT_SYSTEM = CoordinateSystem.wgs84
SYSTEM_DESCRIPTION = (
    "the coordinate system lat/lon are given in: wgs84 (GPS, the browser's Geolocation API; "
    "the default), gcj02 (Gaode/AMap, Tencent) or bd09 (Baidu). Whistle converts to WGS-84, "
    "and stores and answers WGS-84 only")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as GCJ-02 uses it
_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_X_PI = math.pi * 3000.0 / 180.0
_EARTH_RADIUS_M = 6371008.8  # mean radius (IUGG), for distances
_TOLERANCE_DEG = 1e-10  # ~0.01 mm: where the inverse iterations stop
_MAX_ITERATIONS = 30


def in_china(lat: float, lon: float) -> bool:
    """The bounding box inside which GCJ-02 is applied (outside it, GCJ-02 = WGS-84)."""
    return 0.8293 <= lat <= 55.8271 and 72.004 <= lon <= 137.8347


def _offset_m(x: float, y: float) -> tuple[float, float]:
    """The GCJ-02 shift in metres (north, east) at (x, y) = (lon - 105, lat - 35)."""
    waves = 20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)
    north = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
             + 0.2 * math.sqrt(abs(x))
             + (waves
                + 20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)
                + 160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0))
             * 2.0 / 3.0)
    east = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
            + (waves
               + 20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)
               + 150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi))
            * 2.0 / 3.0)
    return north, east


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if not in_china(lat, lon):
        return lat, lon
    north, east = _offset_m(lon - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    metres_per_deg_lat = math.radians(_A * (1.0 - _EE) / (magic * math.sqrt(magic)))
    metres_per_deg_lon = math.radians(_A / math.sqrt(magic) * math.cos(rad_lat))
    return lat + north / metres_per_deg_lat, lon + east / metres_per_deg_lon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    r = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _BD_X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_X_PI)
    return r * math.sin(theta) + 0.006, r * math.cos(theta) + 0.0065


def _bd09_to_gcj02_rough(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    r = math.hypot(x, y) - 0.00002 * math.sin(y * _BD_X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_X_PI)
    return r * math.sin(theta), r * math.cos(theta)


def _invert(forward, lat: float, lon: float, start: tuple[float, float]) -> tuple[float, float]:
    """The point p with forward(p) == (lat, lon), by fixed-point iteration from ``start``:
    both shifts vary slowly enough (well under 1e-4 per degree) that it converges fast."""
    guess_lat, guess_lon = start
    for _ in range(_MAX_ITERATIONS):
        got_lat, got_lon = forward(guess_lat, guess_lon)
        d_lat, d_lon = got_lat - lat, got_lon - lon
        guess_lat, guess_lon = guess_lat - d_lat, guess_lon - d_lon
        if abs(d_lat) < _TOLERANCE_DEG and abs(d_lon) < _TOLERANCE_DEG:
            break
    return guess_lat, guess_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    if not in_china(lat, lon):
        return lat, lon
    f_lat, f_lon = wgs84_to_gcj02(lat, lon)
    return _invert(wgs84_to_gcj02, lat, lon, (2 * lat - f_lat, 2 * lon - f_lon))


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    return _invert(gcj02_to_bd09, lat, lon, _bd09_to_gcj02_rough(lat, lon))


def _in_range(lat: float, lon: float) -> tuple[float, float]:
    """Baidu's shift applies everywhere, so at the poles and the antimeridian it would push
    a point a few metres past ±90° / ±180°: keep every result a valid coordinate."""
    return min(90.0, max(-90.0, lat)), min(180.0, max(-180.0, lon))


def to_wgs84(lat: float, lon: float, system: CoordinateSystem) -> tuple[float, float]:
    """(lat, lon) given in ``system``, as WGS-84."""
    if system is CoordinateSystem.gcj02:
        return gcj02_to_wgs84(lat, lon)
    if system is CoordinateSystem.bd09:
        return _in_range(*gcj02_to_wgs84(*bd09_to_gcj02(lat, lon)))
    return lat, lon


def from_wgs84(lat: float, lon: float, system: CoordinateSystem) -> tuple[float, float]:
    """A WGS-84 (lat, lon) in ``system`` (to show a stored point on a Gaode or Baidu map)."""
    if system is CoordinateSystem.gcj02:
        return wgs84_to_gcj02(lat, lon)
    if system is CoordinateSystem.bd09:
        return _in_range(*gcj02_to_bd09(*wgs84_to_gcj02(lat, lon)))
    return lat, lon


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine; well under 0.5 % off on a sphere)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def degrees_around(lat: float, radius_m: float) -> tuple[float, float]:
    """Half the sides (Δlat, Δlon) in degrees of a box holding every point within
    ``radius_m`` of a point at latitude ``lat``: the prefilter of a radius query."""
    d_lat = math.degrees(radius_m / _EARTH_RADIUS_M)
    # A degree of longitude is shortest at the box's edge furthest from the equator.
    cos_lat = max(math.cos(math.radians(min(abs(lat) + d_lat, 89.0))), 0.01)
    return d_lat, d_lat / cos_lat
