"""Reading a GeoJSON FeatureCollection of tree nodes (街道 / 社区 / 网格) into rows.

Each feature's ``properties`` carry ``code``, ``name``, ``level`` (street, community,
grid) and ``parent`` (the parent's code; null for a street); its ``geometry`` is a
Polygon or MultiPolygon in [lon, lat] order. Grids must have one (tickets are located by
it); streets and communities may have a null geometry.

Grids must not overlap one another (in the file or in the database), or locating a point
would be ambiguous. Whether a grid lies inside its community's outline is not checked:
only grids are used to locate points; street and community outlines are for maps.

Everything is checked before anything is written, and every bad feature is reported at
once, as ``loc = ["features", index, property-or-"geometry"]``, with the first reason
found for that feature. Parents may be in the file or already in the database (an import
may add grids to an existing community), so the caller passes what the database holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import STRtree
from shapely.errors import GEOSException
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from app.errors import InvalidInput
from app.jurisdiction.models import PARENT_LEVEL, Level
from app.messages import M
from app.storable import UNSTORABLE

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
POLYGON_TYPES = ("Polygon", "MultiPolygon")
# Two grids whose shared area exceeds this (in square degrees, ≈ 1 m² here) overlap; below
# it the difference is floating-point noise along a shared border.
OVERLAP_TOLERANCE = 1e-10


@dataclass(frozen=True, slots=True)
class ExistingNode:
    """What the database already holds for a code, as far as validation needs it."""

    level: Level
    parent_code: str | None
    geometry: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NodeRow:
    index: int
    code: str
    name: str
    level: Level
    parent_code: str | None
    geometry: dict[str, Any] | None


class FeatureError(Exception):
    """One feature's first problem: the property at fault and why."""

    def __init__(self, field: str, msg: str) -> None:
        super().__init__(msg)
        self.field = field
        self.msg = msg


def parse_feature_collection(
    data: Any, *, existing: Mapping[str, ExistingNode] | None = None
) -> list[NodeRow]:
    """Validate ``data`` and return one row per feature, or raise ``InvalidInput`` listing
    every bad feature."""
    existing = existing or {}
    features = _features(data)
    errors: dict[int, FeatureError] = {}
    rows: list[NodeRow] = []
    shapes: dict[int, BaseGeometry] = {}
    for index, feature in enumerate(features):
        try:
            row, geom = _parse_feature(feature, index)
        except FeatureError as exc:
            errors[index] = exc
            continue
        rows.append(row)
        if geom is not None:
            shapes[index] = geom

    failed = {_raw_code(features[i]): i for i in errors}
    rows = _check_codes_and_parents(rows, existing, errors, failed)
    _check_overlaps(rows, shapes, existing, errors)
    if errors:
        raise _invalid(errors)
    return sorted(rows, key=lambda r: r.index)


def _features(data: Any) -> list[Any]:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidInput.at(["type"], M("jurisdiction.not_feature_collection"))
    features = data.get("features")
    if not isinstance(features, list):
        raise InvalidInput.at(["features"], M("jurisdiction.features_not_list"))
    if not features:
        raise InvalidInput.at(["features"], M("jurisdiction.no_features"))
    return features


def _raw_code(feature: Any) -> str | None:
    props = feature.get("properties") if isinstance(feature, dict) else None
    code = props.get("code") if isinstance(props, dict) else None
    return code.strip() if isinstance(code, str) else None


def _parse_feature(feature: Any, index: int) -> tuple[NodeRow, BaseGeometry | None]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise FeatureError("type", "not a GeoJSON Feature")
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise FeatureError("properties", "properties must be an object")
    code = props.get("code")
    if not isinstance(code, str) or not code.strip():
        raise FeatureError("code", "missing code")
    code = code.strip()
    if not CODE_PATTERN.match(code):
        raise FeatureError("code", f"code {code!r} must be 1-64 letters, digits, '-', '_' or '.'")
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        raise FeatureError("name", "missing name")
    if len(name.strip()) > 200:
        raise FeatureError("name", "name is longer than 200 characters")
    if UNSTORABLE.search(name):
        raise FeatureError("name", "name contains a character that cannot be stored "
                           "(U+0000 or a lone surrogate)")
    try:
        level = Level(props.get("level", ""))  # none: a ValueError like any unknown level
    except ValueError:
        raise FeatureError(
            "level", f"unknown level {props.get('level')!r}; expected street, community or grid"
        ) from None
    parent = props.get("parent")
    if level is Level.street:
        if parent not in (None, ""):
            raise FeatureError("parent", "a street has no parent; parent must be null")
        parent = None
    elif not isinstance(parent, str) or not parent.strip():
        raise FeatureError("parent", f"a {level} needs the code of its parent "
                                     f"{PARENT_LEVEL[level]}")
    else:
        parent = parent.strip()
    geometry, geom = _parse_geometry(feature.get("geometry"), level)
    return NodeRow(index, code, name.strip(), level, parent, geometry), geom


def _parse_geometry(raw: Any, level: Level) -> tuple[dict[str, Any] | None, BaseGeometry | None]:
    if raw is None:
        if level is Level.grid:
            raise FeatureError("geometry", "a grid needs a Polygon or MultiPolygon geometry")
        return None, None
    if not isinstance(raw, dict) or raw.get("type") not in POLYGON_TYPES:
        kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
        raise FeatureError("geometry", f"geometry must be a Polygon or MultiPolygon, not {kind}")
    _check_positions(raw.get("coordinates"), depth=3 if raw["type"] == "Polygon" else 4)
    try:
        geom = shapely.force_2d(shape(raw))
    except (ValueError, TypeError, GEOSException) as exc:
        raise FeatureError("geometry", f"malformed polygon: {exc}") from None
    if geom.is_empty:
        raise FeatureError("geometry", "the polygon is empty")
    if not geom.is_valid:
        raise FeatureError("geometry", f"invalid polygon: {explain_validity(geom)}")
    # Store what shapely read (rings closed, 2-D), as plain JSON lists.
    clean = mapping(geom)
    return {"type": clean["type"], "coordinates": _lists(clean["coordinates"])}, geom


def _check_positions(coords: Any, depth: int) -> None:
    """Walk nested coordinate lists ``depth`` levels deep down to [lon, lat] positions."""
    if depth == 1:
        if (not isinstance(coords, list | tuple) or len(coords) < 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           for v in coords[:2])):
            raise FeatureError("geometry", f"malformed position {coords!r}; expected [lon, lat]")
        lon, lat = coords[0], coords[1]
        if not (math.isfinite(lon) and math.isfinite(lat)
                and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise FeatureError("geometry", f"point {[lon, lat]} is outside the valid range "
                                           "(positions are [lon, lat] in degrees)")
        return
    if not isinstance(coords, list | tuple) or not coords:
        raise FeatureError("geometry", "malformed coordinates: expected nested lists of "
                                       "[lon, lat] positions")
    for item in coords:
        _check_positions(item, depth - 1)


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, list | tuple) else value


def _check_codes_and_parents(
    rows: list[NodeRow], existing: Mapping[str, ExistingNode], errors: dict[int, FeatureError],
    failed: Mapping[str | None, int],
) -> list[NodeRow]:
    first_at: dict[str, int] = {}
    in_file: dict[str, NodeRow] = {}
    for row in rows:
        if row.code in first_at:
            errors[row.index] = FeatureError(
                "code", f"duplicate code {row.code!r} (also feature {first_at[row.code]})")
            continue
        first_at[row.code] = row.index
        in_file[row.code] = row
    kept: list[NodeRow] = []
    for row in in_file.values():
        problem = _node_problem(row, in_file, existing, failed)
        if problem:
            errors[row.index] = problem
        else:
            kept.append(row)
    return kept


def _node_problem(row: NodeRow, in_file: Mapping[str, NodeRow],
                  existing: Mapping[str, ExistingNode],
                  failed: Mapping[str | None, int]) -> FeatureError | None:
    before = existing.get(row.code)
    if before is not None and before.level is not row.level:
        return FeatureError("level", f"{row.code} is already a {before.level}; "
                                     "a node's level cannot change")
    if before is not None and before.parent_code != row.parent_code:
        return FeatureError("parent", f"{row.code} already belongs to {before.parent_code}; "
                                      "a node cannot move to another parent")
    if row.parent_code is None:
        return None
    parent = in_file.get(row.parent_code) or existing.get(row.parent_code)
    if parent is None and row.parent_code in failed:
        return FeatureError("parent", f"parent {row.parent_code} is itself invalid "
                                      f"(feature {failed[row.parent_code]})")
    if parent is None:
        return FeatureError("parent", f"unknown parent {row.parent_code!r}: neither in this "
                                      "file nor in the database")
    wanted = PARENT_LEVEL[row.level]
    if parent.level is not wanted:
        return FeatureError("parent", f"parent {row.parent_code} is a {parent.level}; "
                                      f"a {row.level}'s parent must be a {wanted}")
    return None


def _check_overlaps(rows: list[NodeRow], shapes: Mapping[int, BaseGeometry],
                    existing: Mapping[str, ExistingNode], errors: dict[int, FeatureError]) -> None:
    """Grids must not overlap, or locating a point would be ambiguous: each grid of the
    file is checked against the others and the database's grids it does not replace."""
    codes: list[str] = []
    geoms: list[BaseGeometry] = []
    in_file = {r.code for r in rows}
    for code, node in existing.items():
        if node.level is Level.grid and node.geometry and code not in in_file:
            codes.append(code)
            geoms.append(shape(node.geometry))
    mine = [(r, shapes[r.index]) for r in rows if r.level is Level.grid and r.index in shapes]
    for row, geom in mine:
        codes.append(row.code)
        geoms.append(geom)
    if not mine:
        return
    tree = STRtree(geoms)
    for row, geom in mine:
        for hit in tree.query(geom, predicate="intersects"):
            other = codes[int(hit)]
            if other != row.code and geom.intersection(geoms[int(hit)]).area > OVERLAP_TOLERANCE:
                errors[row.index] = FeatureError("geometry", f"grid {row.code} overlaps grid "
                                                             f"{other}")
                break


def _invalid(errors: Mapping[int, FeatureError]) -> InvalidInput:
    items = [{"loc": ["features", i, e.field], "msg": e.msg, "type": "value_error"}
             for i, e in sorted(errors.items())]
    return InvalidInput(M("jurisdiction.invalid_features", count=len(items)),
                        errors=items)
