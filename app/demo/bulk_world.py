"""The reference data a bulk load draws from (for ``app.demo.bulk``): grids, the current
matrix's items, departments and each street's working calendar; and generated streets."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.jurisdiction import service as jurisdiction_service
from app.jurisdiction.models import Department, DepartmentStreet, Jurisdiction
from app.matrix.models import MatrixItem
from app.matrix.service import current_version
from app.sla.service import Limits, limits_for
from app.sla.street_calendars import calendar_for
from app.sla.working_time import WorkingCalendar

STREET_NAMES = ("东港", "西岗", "南山", "北湖", "青泥", "春柳", "香炉", "白云", "金石", "凌水",
                "黄河", "长江", "友好", "人民", "桃源", "松江", "海湾", "湖滨", "椒金", "红旗")
COMMUNITIES, GRIDS = 8, 10
_MEMO: dict[tuple[int, date], list] = {}


class MemoCalendar(WorkingCalendar):
    """The same calendar with each day's working intervals remembered: a bulk load asks
    for the same few hundred days millions of times. Same answers, so the same facts."""

    def working_intervals(self, day: date):
        key = (id(self), day)
        found = _MEMO.get(key)
        if found is None:
            found = _MEMO[key] = super().working_intervals(day)
        return found


@dataclass(frozen=True, slots=True)
class Grid:
    """A grid of the tree, with the street and community every grid has."""
    id: int
    street_id: int
    community_id: int


@dataclass
class World:
    version_id: int
    grids: list[Grid]
    streets: list[int]
    items_by_level: dict[str, list[MatrixItem]]
    departments: dict[str, int]
    calendars: dict[int, WorkingCalendar]

    def pick_item(self, rng: random.Random, source: str) -> MatrixItem:
        weights = (35, 20, 45) if source == "grid_worker" else (10, 20, 70)
        level = rng.choices(("grid", "community", "street"), weights)[0]
        return rng.choice(self.items_by_level[level])

    def limits(self, item: MatrixItem, urgency: str) -> Limits:
        return limits_for(item, urgency)


def _square(lon: float, lat: float, size: float = 0.009) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size],
            [lon, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def street_features(number: int) -> list[dict]:
    """A generated street X<nn> with 8 communities of 10 grids, far from the demo street."""
    code = f"X{number:02d}"
    name = STREET_NAMES[(number - 2) % len(STREET_NAMES)]
    features = [{"type": "Feature", "geometry": None, "properties": {
        "code": code, "name": f"{name}街道", "level": "street", "parent": None}}]
    for c in range(1, COMMUNITIES + 1):
        community = f"{code}{c:02d}"
        features.append({"type": "Feature", "geometry": None, "properties": {
            "code": community, "name": f"{name}第{c}社区", "level": "community",
            "parent": code}})
        for g in range(1, GRIDS + 1):
            features.append({"type": "Feature",
                             "geometry": _square(100 + number * 0.2 + g * 0.01, 30 + c * 0.01),
                             "properties": {"code": f"{community}-{g:02d}",
                                            "name": f"{name}第{c}社区第{g}网格",
                                            "level": "grid", "parent": community}})
    return features


async def add_streets(session: AsyncSession, streets: int) -> None:
    """Make sure ``streets`` streets exist (the demo street plus generated ones), each
    served by every department."""
    if streets <= 1:
        return
    features = [f for n in range(2, streets + 1) for f in street_features(n)]
    await jurisdiction_service.import_jurisdictions(
        session=session, feature_collection={"type": "FeatureCollection", "features": features})
    street_ids = (await session.execute(select(Jurisdiction.id).where(
        Jurisdiction.level == "street"))).scalars().all()
    links = set((await session.execute(select(DepartmentStreet.department_id,
                                              DepartmentStreet.street_id))).all())
    for department_id in (await session.execute(select(Department.id))).scalars():
        for street_id in street_ids:
            if (department_id, street_id) not in links:
                session.add(DepartmentStreet(department_id=department_id, street_id=street_id))
    await session.flush()


async def load(session: AsyncSession, *, settings: Settings) -> World:
    version = await current_version(session=session)
    if version is None:
        raise RuntimeError("no matrix has been imported")
    items = (await session.execute(select(MatrixItem).where(
        MatrixItem.version_id == version.id).order_by(MatrixItem.code))).scalars().all()
    grids = [Grid(g.id, g.street_id, g.community_id)
             for g in (await session.execute(select(Jurisdiction).where(
                 Jurisdiction.level == "grid").order_by(Jurisdiction.code))).scalars()
             if g.street_id is not None and g.community_id is not None]  # every grid has both
    streets = sorted({g.street_id for g in grids})
    calendars: dict[int, WorkingCalendar] = {}
    for street in streets:
        cal = await calendar_for(session, street, settings=settings)
        calendars[street] = MemoCalendar(cal.timezone, cal.periods, dict(cal.overrides))
    by_level: dict[str, list[MatrixItem]] = {"grid": [], "community": [], "street": []}
    for item in items:
        by_level[item.handling_level].append(item)
    departments = dict((await session.execute(select(Department.code, Department.id))).all())
    return World(version.id, grids, streets, by_level, departments, calendars)
