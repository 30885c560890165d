"""The queries of the jurisdiction domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.jurisdiction.models import Department, DepartmentStreet, Jurisdiction


async def department_by_code(session: AsyncSession, code: str) -> Department | None:
    return (await session.execute(
        select(Department).where(Department.code == code))).scalar_one_or_none()


async def department_id(session: AsyncSession, code: str) -> int | None:
    """The id of the department with this code, or None: the one "department id from
    code" lookup (``department_ids`` for several)."""
    return (await session.execute(
        select(Department.id).where(Department.code == code))).scalar_one_or_none()


async def department_ids(session: AsyncSession, codes: Iterable[object]) -> dict[str, int]:
    """code → id of the departments with these codes (unknown codes, and values that are
    not strings, are left out)."""
    wanted = sorted({c for c in codes if isinstance(c, str)})
    if not wanted:
        return {}
    rows = await session.execute(select(Department.code, Department.id)
                                 .where(Department.code.in_(wanted)))
    return {code: id_ for code, id_ in rows.all()}


async def all_nodes(session: AsyncSession) -> Sequence[Jurisdiction]:
    return (await session.execute(select(Jurisdiction))).scalars().all()


async def tree_rows(session: AsyncSession) -> Sequence[Row]:
    """Every node as plain columns (no ORM identity map: the cache outlives the session)."""
    return (await session.execute(select(
        Jurisdiction.id, Jurisdiction.code, Jurisdiction.name, Jurisdiction.level,
        Jurisdiction.parent_id, Jurisdiction.street_id, Jurisdiction.community_id,
        Jurisdiction.geometry,
    ))).all()


async def tree_signature(session: AsyncSession) -> tuple[int, datetime | None]:
    """Changes whenever a node is added, removed or updated (``updated_at`` moves)."""
    row = (await session.execute(
        select(func.count(Jurisdiction.id), func.max(Jurisdiction.updated_at))
    )).one()
    return int(row[0]), row[1]


async def streets_by_code(session: AsyncSession, codes: set[str]) -> dict[str, Jurisdiction]:
    if not codes:
        return {}
    found = await session.execute(select(Jurisdiction).where(Jurisdiction.code.in_(codes)))
    return {j.code: j for j in found.scalars()}


async def departments_by_code(session: AsyncSession, codes: set[str]) -> dict[str, Department]:
    if not codes:
        return {}
    found = await session.execute(select(Department).where(Department.code.in_(codes)))
    return {d.code: d for d in found.scalars()}


async def department_links(session: AsyncSession,
                           department_ids: Sequence[int]) -> set[tuple[int, int]]:
    if not department_ids:
        return set()
    found = await session.execute(
        select(DepartmentStreet.department_id, DepartmentStreet.street_id)
        .where(DepartmentStreet.department_id.in_(department_ids)))
    return {(d, s) for d, s in found.all()}


async def department_street_ids(session: AsyncSession, department_id: int) -> set[int]:
    found = await session.execute(select(DepartmentStreet.street_id)
                                  .where(DepartmentStreet.department_id == department_id))
    return set(found.scalars())


async def departments_with_streets(
    session: AsyncSession, code: str | None = None
) -> list[tuple[Department, list[str]]]:
    """Departments ordered by code, each with the codes of the streets it serves."""
    query = select(Department).order_by(Department.code)
    if code is not None:
        query = query.where(Department.code == code)
    departments = (await session.execute(query)).scalars().all()
    if not departments:
        return []
    links = await session.execute(
        select(DepartmentStreet.department_id, Jurisdiction.code)
        .join(Jurisdiction, Jurisdiction.id == DepartmentStreet.street_id)
        .where(DepartmentStreet.department_id.in_([d.id for d in departments]))
        .order_by(Jurisdiction.code))
    streets: dict[int, list[str]] = {}
    for department_id, street_code in links.all():
        streets.setdefault(department_id, []).append(street_code)
    return [(d, streets.get(d.id, [])) for d in departments]
