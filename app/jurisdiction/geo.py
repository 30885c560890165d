"""The jurisdiction tree in memory: nodes by id and code, and a spatial index of grids.

Posting a ticket needs "which grid is this point in" and "which grid has this code" on
every request, so each API process keeps one ``JurisdictionTree`` in a
``JurisdictionCache`` on ``app.state``. The cache loads the tree once and afterwards only
runs a cheap signature query (node count and newest ``updated_at``), at most every
``check_seconds``, reloading when the signature changes — so an import made by another
process (``whistle import-grids``) is picked up within that time, and an import in this
process calls ``invalidate()`` to be seen at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import shapely
from fastapi import Depends, Request
from shapely import STRtree
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.ext.asyncio import AsyncSession

from app.jurisdiction import repository as repo
from app.jurisdiction.models import Level


@dataclass(frozen=True, slots=True)
class GridRef:
    """A grid (网格) and the ids of the community and street it lies in."""

    id: int
    code: str
    name: str
    community_id: int
    street_id: int


@dataclass(frozen=True, slots=True)
class NodeRef:
    id: int
    code: str
    name: str
    level: Level
    parent_id: int | None
    street_id: int | None
    community_id: int | None


class GridIndex:
    """Point-in-grid lookup over an STRtree of the grids' polygons."""

    def __init__(self, grids: Iterable[tuple[GridRef, BaseGeometry]]) -> None:
        pairs = list(grids)
        self._refs = [ref for ref, _ in pairs]
        self._geoms = [geom for _, geom in pairs]
        shapely.prepare(self._geoms)
        self._tree = STRtree(self._geoms)

    def __len__(self) -> int:
        return len(self._refs)

    def locate(self, lat: float, lon: float) -> GridRef | None:
        """The grid whose interior holds the point. A point exactly on a border between
        grids (or on the street's edge) belongs to no grid rather than to an arbitrary one;
        callers then ask for the grid code."""
        point = shapely.Point(lon, lat)
        for i in self._tree.query(point):
            if self._geoms[int(i)].contains_properly(point):
                return self._refs[int(i)]
        return None


class JurisdictionTree:
    """An immutable snapshot of every node; safe to share between concurrent requests."""

    def __init__(self, nodes: Iterable[NodeRef],
                 geometries: Mapping[int, dict[str, Any]] | None = None) -> None:
        self._by_id = {n.id: n for n in nodes}
        self._by_code = {n.code: n for n in self._by_id.values()}
        self._geometries = dict(geometries or {})
        self._children: dict[int | None, list[NodeRef]] = {}
        for n in sorted(self._by_id.values(), key=lambda n: n.code):
            self._children.setdefault(n.parent_id, []).append(n)
        self._grids = {n.code: _grid_ref(n) for n in self._by_id.values()
                       if n.level is Level.grid and n.community_id and n.street_id}
        self.grid_index = GridIndex(
            (self._grids[n.code], shape(self._geometries[n.id]))
            for n in self._by_id.values()
            if n.code in self._grids and self._geometries.get(n.id))

    def __len__(self) -> int:
        return len(self._by_id)

    def locate(self, lat: float, lon: float) -> GridRef | None:
        return self.grid_index.locate(lat, lon)

    def grid_by_code(self, code: str) -> GridRef | None:
        return self._grids.get(code)

    def node(self, node_id: int) -> NodeRef | None:
        return self._by_id.get(node_id)

    def node_by_code(self, code: str) -> NodeRef | None:
        return self._by_code.get(code)

    def nodes(self) -> Iterable[NodeRef]:
        return self._by_id.values()

    def streets(self) -> list[NodeRef]:
        return list(self._children.get(None, ()))

    def children(self, node_id: int) -> list[NodeRef]:
        return list(self._children.get(node_id, ()))

    def geometry(self, node_id: int) -> dict[str, Any] | None:
        return self._geometries.get(node_id)

    def subtree_ids(self, node_id: int) -> set[int]:
        """The node and everything under it."""
        found, todo = set(), [node_id]
        while todo:
            current = todo.pop()
            if current in self._by_id and current not in found:
                found.add(current)
                todo.extend(c.id for c in self._children.get(current, ()))
        return found

    def ancestor_ids(self, node_id: int) -> list[int]:
        """The node's parent, grandparent, ... up to its street."""
        out: list[int] = []
        node = self._by_id.get(node_id)
        while node is not None and node.parent_id is not None:
            out.append(node.parent_id)
            node = self._by_id.get(node.parent_id)
        return out


def _grid_ref(n: NodeRef) -> GridRef:
    assert n.community_id is not None and n.street_id is not None
    return GridRef(id=n.id, code=n.code, name=n.name, community_id=n.community_id,
                   street_id=n.street_id)


async def load_tree(session: AsyncSession) -> JurisdictionTree:
    nodes, geometries = [], {}
    for row in await repo.tree_rows(session):
        nodes.append(NodeRef(id=row.id, code=row.code, name=row.name, level=Level(row.level),
                             parent_id=row.parent_id, street_id=row.street_id,
                             community_id=row.community_id))
        if row.geometry:
            geometries[row.id] = row.geometry
    return JurisdictionTree(nodes, geometries)


Signature = tuple[int, datetime | None]


class JurisdictionCache:
    """The process-wide tree: ``app.state.jurisdictions = JurisdictionCache(
    check_seconds=settings.cache_check_seconds)``.

    ``get(session)`` returns the current snapshot, loading it with the caller's session
    the first time and whenever the database's signature has changed (checked at most
    every ``check_seconds``; 0 checks on every call). The signature is cheap but not
    perfect: two concurrent imports that only update names could, in a rare interleaving,
    leave this process stale until the next change — acceptable for data that an admin
    edits a few times a year, and ``invalidate()`` covers imports in this process."""

    def __init__(self, *, check_seconds: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._check_seconds = check_seconds
        self._monotonic = monotonic
        self._tree: JurisdictionTree | None = None
        self._signature: Signature | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()
        self.loads = 0  # how many times the tree was (re)loaded; for tests and metrics

    def invalidate(self) -> None:
        self._tree = None
        self._signature = None

    async def get(self, session: AsyncSession) -> JurisdictionTree:
        tree = self._tree
        if tree is not None and self._monotonic() - self._checked_at < self._check_seconds:
            return tree
        if tree is not None and self._lock.locked():
            # Another request is checking: use what we have rather than wait. Waiting could
            # deadlock a full pool — the checker may need a connection that a waiter holds.
            return tree
        async with self._lock:
            now = self._monotonic()
            if self._tree is not None and now - self._checked_at < self._check_seconds:
                return self._tree
            signature = await repo.tree_signature(session)
            if self._tree is None or signature != self._signature:
                self._tree = await load_tree(session)
                self._signature = signature
                self.loads += 1
            self._checked_at = now
            return self._tree

    async def locate(self, session: AsyncSession, lat: float, lon: float) -> GridRef | None:
        return (await self.get(session)).locate(lat, lon)

    async def grid_by_code(self, session: AsyncSession, code: str) -> GridRef | None:
        return (await self.get(session)).grid_by_code(code)

    async def node(self, session: AsyncSession, node_id: int) -> NodeRef | None:
        return (await self.get(session)).node(node_id)

    async def node_by_code(self, session: AsyncSession, code: str) -> NodeRef | None:
        return (await self.get(session)).node_by_code(code)


async def get_jurisdictions(request: Request) -> JurisdictionCache:
    return request.app.state.jurisdictions


JurisdictionsDep = Annotated[JurisdictionCache, Depends(get_jurisdictions)]
