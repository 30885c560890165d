"""Codes and names for the values of each report dimension (ids in the rollups become the
codes and names people read)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.jurisdiction.models import Department, Jurisdiction
from app.matrix.categories import CATEGORY_BY_CODE
from app.matrix.models import MatrixItem

SOURCE_NAMES = {"grid_worker": "网格员上报", "resident": "居民上报", "hotline": "热线",
                "open311": "Open311"}
NO_DEPARTMENT_NAME = "社区/网格办理"  # held in the tree (grid or community), no department


@dataclass(frozen=True, slots=True)
class Label:
    code: str | None
    name: str | None


async def labels(session: AsyncSession, dim: str, values: Iterable) -> dict:
    """value → Label for the values of one dimension."""
    wanted = sorted(set(values), key=str)
    if dim in ("street", "community", "grid"):
        rows = await session.execute(select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.name)
                                     .where(Jurisdiction.id.in_(wanted)))
        return {i: Label(code, name) for i, code, name in rows}
    if dim == "department":
        rows = await session.execute(select(Department.id, Department.code, Department.name)
                                     .where(Department.id.in_(wanted)))
        found = {i: Label(code, name) for i, code, name in rows}
        return {v: found.get(v, Label(None, NO_DEPARTMENT_NAME)) for v in wanted}
    if dim == "category":
        return {c: Label(c, CATEGORY_BY_CODE[c].name if c in CATEGORY_BY_CODE else None)
                for c in wanted}
    if dim == "item":
        item_rows = await session.execute(select(MatrixItem.code, MatrixItem.name)
                                          .where(MatrixItem.code.in_(wanted))
                                          .order_by(MatrixItem.version_id))
        names = dict(item_rows.all())  # the newest version's name wins
        return {c: Label(c, names.get(c)) for c in wanted}
    return {s: Label(s, SOURCE_NAMES.get(s, s)) for s in wanted}
