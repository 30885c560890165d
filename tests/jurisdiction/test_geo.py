"""Point lookup and the process-wide cache of the tree."""

from __future__ import annotations

import asyncio

from shapely.geometry import shape
from sqlalchemy import delete

from app.db import unit_of_work
from app.jurisdiction import service
from app.jurisdiction.geo import GridIndex, GridRef, JurisdictionCache, load_tree
from app.jurisdiction.models import Jurisdiction
from tests.jurisdiction.conftest import demo_collection


def _grids() -> list[dict]:
    return [f for f in demo_collection()["features"] if f["properties"]["level"] == "grid"]


def test_every_grid_centroid_locates_its_own_grid():
    grids = _grids()
    index = GridIndex((GridRef(i, f["properties"]["code"], "", 0, 0), shape(f["geometry"]))
                      for i, f in enumerate(grids))
    for f in grids:
        centre = shape(f["geometry"]).centroid
        found = index.locate(centre.y, centre.x)
        assert found is not None and found.code == f["properties"]["code"]


def test_a_point_on_a_shared_border_or_outside_is_in_no_grid():
    grids = _grids()
    index = GridIndex((GridRef(i, f["properties"]["code"], "", 0, 0), shape(f["geometry"]))
                      for i, f in enumerate(grids))
    lon, lat = grids[3]["geometry"]["coordinates"][0][2]  # BH01-04: a corner of 4 grids
    assert index.locate(lat, lon) is None
    assert index.locate(38.5, 121.0) is None


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _sea_grid() -> tuple[dict, tuple[float, float]]:
    """A new grid in the sea east of BH05-05, sharing that grid's east edge."""
    ring = next(f for f in _grids() if f["properties"]["code"] == "BH05-05")[
        "geometry"]["coordinates"][0]
    (x1, y1), (x2, y2) = ring[1], ring[2]  # the south-east and north-east corners
    coords = [[x1, y1], [x1 + 0.004, y1], [x2 + 0.004, y2], [x2, y2], [x1, y1]]
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [coords]},
        "properties": {"code": "BH05-90", "name": "观澜社区海上测试网格", "level": "grid",
                       "parent": "BH05"}}]}, ((x1 + x2) / 2 + 0.002, (y1 + y2) / 2)


async def test_the_cache_loads_once_and_reloads_when_the_tree_changes(demo, sessions):
    ticks = FakeMonotonic()
    cache = JurisdictionCache(check_seconds=60, monotonic=ticks)
    data, (lon, lat) = _sea_grid()
    async with sessions() as session:
        tree = await cache.get(session)
        assert cache.loads == 1 and await cache.get(session) is tree
        assert tree.locate(lat, lon) is None
    try:
        # Another process adds a grid to an existing community (its parent is in the DB).
        async with unit_of_work(sessions) as session:
            summary = await service.import_jurisdictions(session=session, feature_collection=data)
        assert summary.created == 1
        async with sessions() as session:
            assert await cache.get(session) is tree  # trusted until the check is due
            ticks.now += 61
            fresh = await cache.get(session)
        assert cache.loads == 2
        found = fresh.locate(lat, lon)
        assert found is not None and found.code == "BH05-90"
        assert (found.community_id, found.street_id) == (demo["BH05"], demo["BH"])
    finally:
        async with unit_of_work(sessions) as session:
            await session.execute(delete(Jurisdiction).where(Jurisdiction.code == "BH05-90"))
    async with sessions() as session:
        ticks.now += 61
        assert (await cache.get(session)).grid_by_code("BH05-90") is None
        assert cache.loads == 3


async def test_an_unchanged_tree_is_not_reloaded(demo, sessions):
    ticks = FakeMonotonic()
    cache = JurisdictionCache(check_seconds=5, monotonic=ticks)
    async with sessions() as session:
        tree = await cache.get(session)
        ticks.now += 10
        assert await cache.get(session) is tree
    assert cache.loads == 1


async def test_invalidate_reloads_at_once(demo, sessions):
    cache = JurisdictionCache(check_seconds=3600)
    async with sessions() as session:
        first = await cache.get(session)
        cache.invalidate()
        assert await cache.get(session) is not first
        assert cache.loads == 2


async def test_the_tree_answers_by_id_and_code(demo, sessions):
    cache = JurisdictionCache(check_seconds=0)
    async with sessions() as session:
        grid = await cache.grid_by_code(session, "BH02-03")
        assert grid is not None and grid.community_id == demo["BH02"]
        assert grid.street_id == demo["BH"]
        assert await cache.grid_by_code(session, "BH02") is None  # a community, not a grid
        node = await cache.node(session, demo["BH02"])
        assert node is not None and (node.code, node.name) == ("BH02", "星海社区")
        assert (await cache.node_by_code(session, "BH")).id == demo["BH"]
        tree = await load_tree(session)
    assert [c.code for c in tree.children(demo["BH02"])][:2] == ["BH02-01", "BH02-02"]
    assert tree.ancestor_ids(demo["BH02-01"]) == [demo["BH02"], demo["BH"]]


async def test_a_stale_tree_is_served_while_another_request_checks(demo, sessions):
    # Waiting for the checker could deadlock a full pool (it may need a connection a waiter
    # holds), so callers with a tree in hand use it while a check is under way.
    ticks = FakeMonotonic()
    cache = JurisdictionCache(check_seconds=5, monotonic=ticks)
    async with sessions() as session:
        tree = await cache.get(session)
        ticks.now += 10
        async with cache._lock:  # a check in progress elsewhere
            assert await asyncio.wait_for(cache.get(session), 1) is tree
        cache.invalidate()  # after an import in this process there is no tree to serve
        assert await cache.get(session) is not tree
