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
from app.messages import M, Message, Words
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


_LEVEL_ZH = {Level.street: "街道", Level.community: "社区", Level.grid: "网格"}


def _said(level: Level) -> Words:
    """A level as a message says it: ``street`` in English, 街道 in Chinese."""
    return Words(str(level), _LEVEL_ZH[level])


class FeatureError(Exception):
    """One feature's first problem: the property at fault and why."""

    def __init__(self, field: str, msg: Message) -> None:
        super().__init__(str(msg))
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
        raise FeatureError("type", M("feature.not_feature"))
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise FeatureError("properties", M("feature.properties"))
    code = props.get("code")
    if not isinstance(code, str) or not code.strip():
        raise FeatureError("code", M("feature.missing_code"))
    code = code.strip()
    if not CODE_PATTERN.match(code):
        raise FeatureError("code", M("feature.bad_code", code=code))
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        raise FeatureError("name", M("feature.missing_name"))
    if len(name.strip()) > 200:
        raise FeatureError("name", M("feature.long_name"))
    if UNSTORABLE.search(name):
        raise FeatureError("name", M("feature.unstorable_name"))
    try:
        level = Level(props.get("level", ""))  # none: a ValueError like any unknown level
    except ValueError:
        raise FeatureError("level", M("feature.unknown_level", level=props.get("level"))
                           ) from None
    parent = props.get("parent")
    if level is Level.street:
        if parent not in (None, ""):
            raise FeatureError("parent", M("feature.street_parent"))
        parent = None
    elif not isinstance(parent, str) or not parent.strip():
        raise FeatureError("parent", M("feature.needs_parent", level=_said(level),
                                       parent_level=_said(PARENT_LEVEL[level])))
    else:
        parent = parent.strip()
    geometry, geom = _parse_geometry(feature.get("geometry"), level)
    return NodeRow(index, code, name.strip(), level, parent, geometry), geom


def _parse_geometry(raw: Any, level: Level) -> tuple[dict[str, Any] | None, BaseGeometry | None]:
    if raw is None:
        if level is Level.grid:
            raise FeatureError("geometry", M("feature.grid_geometry"))
        return None, None
    if not isinstance(raw, dict) or raw.get("type") not in POLYGON_TYPES:
        kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
        raise FeatureError("geometry", M("feature.geometry_type", kind=kind))
    _check_positions(raw.get("coordinates"), depth=3 if raw["type"] == "Polygon" else 4)
    try:
        geom = shapely.force_2d(shape(raw))
    except (ValueError, TypeError, GEOSException) as exc:
        raise FeatureError("geometry", M("feature.malformed_polygon", reason=exc)) from None
    if geom.is_empty:
        raise FeatureError("geometry", M("feature.empty_polygon"))
    if not geom.is_valid:
        raise FeatureError("geometry", M("feature.invalid_polygon",
                                          reason=explain_validity(geom)))
    # Store what shapely read (rings closed, 2-D), as plain JSON lists.
    clean = mapping(geom)
    return {"type": clean["type"], "coordinates": _lists(clean["coordinates"])}, geom


def _check_positions(coords: Any, depth: int) -> None:
    """Walk nested coordinate lists ``depth`` levels deep down to [lon, lat] positions."""
    if depth == 1:
        if (not isinstance(coords, list | tuple) or len(coords) < 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           for v in coords[:2])):
            raise FeatureError("geometry", M("feature.malformed_position", position=coords))
        lon, lat = coords[0], coords[1]
        if not (math.isfinite(lon) and math.isfinite(lat)
                and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise FeatureError("geometry", M("feature.position_range", position=[lon, lat]))
        return
    if not isinstance(coords, list | tuple) or not coords:
        raise FeatureError("geometry", M("feature.malformed_coordinates"))
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
            errors[row.index] = FeatureError("code", M(
                "feature.duplicate_code", code=row.code, first=first_at[row.code]))
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
        return FeatureError("level", M("feature.level_fixed", code=row.code,
                                       level=_said(before.level)))
    if before is not None and before.parent_code != row.parent_code:
        return FeatureError("parent", M("feature.parent_fixed", code=row.code,
                                        parent=before.parent_code))
    if row.parent_code is None:
        return None
    parent = in_file.get(row.parent_code) or existing.get(row.parent_code)
    if parent is None and row.parent_code in failed:
        return FeatureError("parent", M("feature.parent_invalid", parent=row.parent_code,
                                        index=failed[row.parent_code]))
    if parent is None:
        return FeatureError("parent", M("feature.unknown_parent", parent=row.parent_code))
    wanted = PARENT_LEVEL[row.level]
    if parent.level is not wanted:
        return FeatureError("parent", M(
            "feature.parent_level", parent=row.parent_code, parent_level=_said(parent.level),
            level=_said(row.level), wanted=_said(wanted)))
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
                errors[row.index] = FeatureError(
                    "geometry", M("feature.overlap", code=row.code, other=other))
                break


def _invalid(errors: Mapping[int, FeatureError]) -> InvalidInput:
    items = [{"loc": ["features", i, e.field], "msg": e.msg, "type": "value_error"}
             for i, e in sorted(errors.items())]
    return InvalidInput(M("jurisdiction.invalid_features", count=len(items)),
                        errors=items)
