"""The matrix's rules: every import is validated whole and becomes a new, immutable
version; the newest version is current. Tickets keep the item row they were routed by,
so old versions and their items never change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utc_now
from app.errors import InvalidInput, NotFound
from app.matrix import repository as repo
from app.matrix.cache import CurrentMatrix, ItemSnapshot, MatrixCache, matrix_cache
from app.matrix.csvio import export_matrix_csv, parse_matrix_csv
from app.matrix.models import MatrixItem, MatrixVersion
from app.messages import M

__all__ = [
    "CurrentMatrix", "ItemSnapshot", "MatrixCache", "current_version", "export_version",
    "get_item", "import_matrix", "list_versions", "matrix_cache",
]

LABEL_MAX, SOURCE_MAX = 200, 500


async def import_matrix(*, session: AsyncSession, csv_text: str, label: str, source: str,
                        now: datetime | None = None) -> MatrixVersion:
    """Validate ``csv_text`` against the departments in the database and store it as the
    new current version; raise ``InvalidInput`` listing every problem otherwise."""
    label = label.strip()
    if not label or len(label) > LABEL_MAX:
        raise InvalidInput.at(["label"], M("matrix.label_required", limit=LABEL_MAX))
    departments = await repo.department_codes(session)
    if not departments:  # else every row would report its departments as unknown
        raise InvalidInput.at(["departments"], M("matrix.no_departments"))
    rows = parse_matrix_csv(csv_text, department_codes=departments)
    version = MatrixVersion(label=label, source=source[:SOURCE_MAX], item_count=len(rows),
                            created_at=now or utc_now())
    session.add(version)
    await session.flush()
    await repo.insert_items(session, [{"version_id": version.id, **r.columns()} for r in rows])
    return version


async def current_version(*, session: AsyncSession) -> MatrixVersion | None:
    """The newest version (the current matrix), or None before the first import."""
    return await repo.newest_version(session)


async def get_item(*, session: AsyncSession, version_id: int, code: str) -> MatrixItem | None:
    return await repo.get_item(session, version_id, code)


async def list_versions(*, session: AsyncSession) -> list[MatrixVersion]:
    return list(await repo.list_versions(session))


async def export_version(*, session: AsyncSession,
                         version_id: int | None = None,
                         headers: str = "en") -> tuple[MatrixVersion, str]:
    """A version (default: the current one) as CSV text that imports back unchanged, its
    header in English or (``headers="zh"``) Chinese."""
    if version_id is None:
        version = await repo.newest_version(session)
        if version is None:
            raise NotFound(M("error.no_matrix"))
    else:
        version = await session.get(MatrixVersion, version_id)
        if version is None:
            raise NotFound(M("error.no_matrix_version", id=version_id))
    return version, export_matrix_csv(await repo.items_of(session, version.id), headers=headers)
