"""The queries of the matrix domain: versions and the items of one version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.jurisdiction.models import Department
from app.matrix.models import MatrixItem, MatrixVersion


async def department_codes(session: AsyncSession) -> set[str]:
    return set((await session.execute(select(Department.code))).scalars())


async def newest_version_id(session: AsyncSession) -> int | None:
    return (await session.execute(select(func.max(MatrixVersion.id)))).scalar_one_or_none()


async def newest_version(session: AsyncSession) -> MatrixVersion | None:
    query = select(MatrixVersion).order_by(MatrixVersion.id.desc()).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def list_versions(session: AsyncSession) -> Sequence[MatrixVersion]:
    query = select(MatrixVersion).order_by(MatrixVersion.id.desc())
    return (await session.execute(query)).scalars().all()


async def items_of(session: AsyncSession, version_id: int) -> Sequence[MatrixItem]:
    query = (select(MatrixItem).where(MatrixItem.version_id == version_id)
             .order_by(MatrixItem.code))
    return (await session.execute(query)).scalars().all()


async def get_item(session: AsyncSession, version_id: int, code: str) -> MatrixItem | None:
    query = select(MatrixItem).where(MatrixItem.version_id == version_id, MatrixItem.code == code)
    return (await session.execute(query)).scalar_one_or_none()


async def insert_items(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # One executemany instead of 130 ORM objects: imports stay fast on both backends.
    await session.execute(insert(MatrixItem), rows)
