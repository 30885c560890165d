"""Validation of GeoJSON imports: every bad feature is reported at its index with why."""

from __future__ import annotations

import copy

import pytest

from app.errors import InvalidInput
from app.jurisdiction.importer import ExistingNode, parse_feature_collection
from app.jurisdiction.models import Level
from tests.jurisdiction.conftest import demo_collection

SQUARE = [[[121.0, 38.0], [121.01, 38.0], [121.01, 38.01], [121.0, 38.01], [121.0, 38.0]]]
SQUARE_EAST = [[[121.01, 38.0], [121.02, 38.0], [121.02, 38.01], [121.01, 38.01],
                [121.01, 38.0]]]
# Shifted half a cell west: it overlaps SQUARE.
SQUARE_OVERLAPPING = [[[121.005, 38.0], [121.015, 38.0], [121.015, 38.01], [121.005, 38.01],
                       [121.005, 38.0]]]
BOWTIE = [[[121.0, 38.0], [121.01, 38.01], [121.01, 38.0], [121.0, 38.01], [121.0, 38.0]]]


def feature(code, level, parent=None, coords=SQUARE, *, name="名称", gtype="Polygon"):
    geometry = None if coords is None else {"type": gtype, "coordinates": coords}
    props = {"code": code, "name": name, "level": level, "parent": parent}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


BASE = [feature("TS", "street", coords=None), feature("TS01", "community", "TS", coords=None)]


def errors_of(data, **kw) -> list[dict]:
    with pytest.raises(InvalidInput) as caught:
        parse_feature_collection(data, **kw)
    return caught.value.errors_in("en")


def test_the_demo_street_is_valid():
    rows = parse_feature_collection(demo_collection())
    levels = [r.level for r in rows]
    assert levels.count(Level.street) == 1
    assert levels.count(Level.community) >= 5
    assert levels.count(Level.grid) >= 24
    communities = {r.code for r in rows if r.level is Level.community}
    per_community = {c: sum(1 for r in rows if r.parent_code == c) for c in communities}
    assert all(4 <= n <= 6 for n in per_community.values()), per_community


BAD_FEATURES = [
    ({"type": "Feature", "properties": {"name": "x", "level": "grid", "parent": "TS01"},
      "geometry": {"type": "Polygon", "coordinates": SQUARE}}, "code", "missing code"),
    (feature("TS01-01", "block", "TS01"), "level", "unknown level 'block'"),
    (feature("TS01-01", "grid", "NOPE"), "parent", "unknown parent 'NOPE'"),
    (feature("TS01-01", "grid", "TS"), "parent", "a grid's parent must be a community"),
    (feature("TS01-01", "grid", "TS01", BOWTIE), "geometry", "Self-intersection"),
    (feature("TS01-01", "grid", "TS01", [121.0, 38.0], gtype="Point"), "geometry",
     "must be a Polygon or MultiPolygon, not Point"),
    (feature("TS01-01", "grid", "TS01", [[[38.0, 121.0], [38.0, 121.01], [38.01, 121.01],
                                          [38.0, 121.0]]]), "geometry", "outside the valid range"),
    (feature("TS01-01", "grid", "TS01", coords=None), "geometry", "a grid needs a Polygon"),
    (feature("TS01-01", "grid", "TS01", [[[121.0, 38.0], [121.01, 38.0]]]), "geometry",
     "malformed polygon"),
    (feature("TS01-01", "grid", "TS01", name=" "), "name", "missing name"),
    (feature("TS 01", "grid", "TS01"), "code", "must be 1-64 letters"),
    (feature("TS2", "street", "TS", coords=None), "parent", "a street has no parent"),
    (feature("TS02", "community", None, coords=None), "parent", "needs the code of its parent"),
    ("not a feature", "type", "not a GeoJSON Feature"),
]


@pytest.mark.parametrize(("bad", "field", "reason"), BAD_FEATURES,
                         ids=[f"{f}:{r[:20]}" for _, f, r in BAD_FEATURES])
def test_each_bad_feature_is_reported_at_its_index(bad, field, reason):
    errors = errors_of(collection(*BASE, bad))
    assert len(errors) == 1
    assert errors[0]["loc"] == ["features", 2, field]
    assert reason in errors[0]["msg"]


def test_every_bad_feature_is_listed_at_once_and_good_ones_are_not():
    data = collection(*BASE,
                      feature("TS01-01", "grid", "TS01"),
                      feature("TS01-02", "grid", "NOPE", SQUARE_EAST),
                      feature("TS01-01", "grid", "TS01", SQUARE_EAST),
                      feature("TS01-03", "grid", "TS01", BOWTIE))
    errors = errors_of(data)
    assert [e["loc"] for e in errors] == [["features", 3, "parent"], ["features", 4, "code"],
                                          ["features", 5, "geometry"]]
    assert "duplicate code 'TS01-01' (also feature 2)" in errors[1]["msg"]


def test_overlapping_grids_are_both_reported():
    errors = errors_of(collection(*BASE, feature("TS01-01", "grid", "TS01"),
                                  feature("TS01-02", "grid", "TS01", SQUARE_OVERLAPPING)))
    assert [e["loc"] for e in errors] == [["features", 2, "geometry"], ["features", 3, "geometry"]]
    assert "overlaps grid TS01-02" in errors[0]["msg"]


def test_neighbouring_grids_may_share_a_border():
    rows = parse_feature_collection(collection(*BASE, feature("TS01-01", "grid", "TS01"),
                                               feature("TS01-02", "grid", "TS01", SQUARE_EAST)))
    assert [r.code for r in rows] == ["TS", "TS01", "TS01-01", "TS01-02"]


def test_a_child_of_an_invalid_parent_says_so():
    errors = errors_of(collection(feature("TS", "street", coords=None),
                                  feature("TS01", "community", "TS", BOWTIE),
                                  feature("TS01-01", "grid", "TS01")))
    assert errors[1] == {"loc": ["features", 2, "parent"], "type": "value_error",
                         "msg": "parent TS01 is itself invalid (feature 1)"}


EXISTING = {
    "TS": ExistingNode(Level.street, None),
    "TS01": ExistingNode(Level.community, "TS"),
    "TS02": ExistingNode(Level.community, "TS"),
    "TS01-01": ExistingNode(Level.grid, "TS01", {"type": "Polygon", "coordinates": SQUARE}),
}


def test_parents_may_already_be_in_the_database():
    rows = parse_feature_collection(collection(feature("TS01-02", "grid", "TS01", SQUARE_EAST)),
                                    existing=EXISTING)
    assert rows[0].parent_code == "TS01"


def test_a_grid_may_not_overlap_a_grid_in_the_database():
    errors = errors_of(collection(feature("TS01-02", "grid", "TS01", SQUARE_OVERLAPPING)),
                       existing=EXISTING)
    assert errors[0]["msg"] == "grid TS01-02 overlaps grid TS01-01"


def test_a_grid_being_replaced_is_not_checked_against_its_old_shape():
    rows = parse_feature_collection(
        collection(feature("TS01-01", "grid", "TS01", SQUARE_OVERLAPPING)), existing=EXISTING)
    assert rows[0].geometry["coordinates"][0][0] == [121.005, 38.0]


@pytest.mark.parametrize(("bad", "field", "reason"), [
    (feature("TS01", "grid", "TS02"), "level", "already a community"),
    (feature("TS01-01", "grid", "TS02"), "parent", "already belongs to TS01"),
])
def test_level_and_parent_cannot_change(bad, field, reason):
    errors = errors_of(collection(bad), existing=EXISTING)
    assert errors[0]["loc"] == ["features", 0, field]
    assert reason in errors[0]["msg"]


@pytest.mark.parametrize("data", [[], {"type": "Feature"}, {"type": "FeatureCollection"},
                                  {"type": "FeatureCollection", "features": []}])
def test_not_a_feature_collection(data):
    errors = errors_of(copy.deepcopy(data))
    assert errors[0]["loc"][0] in ("type", "features")


def test_stored_geometry_is_closed_two_dimensional_json():
    open_ring_3d = [[[121.0, 38.0, 5.0], [121.01, 38.0, 5.0], [121.01, 38.01, 5.0]]]
    rows = parse_feature_collection(collection(*BASE,
                                               feature("TS01-01", "grid", "TS01", open_ring_3d)))
    ring = rows[2].geometry["coordinates"][0]
    assert ring[0] == ring[-1] == [121.0, 38.0]
    assert all(len(p) == 2 for p in ring)
