"""What posting a ticket needs to look up: grids, the current matrix item, departments.

Backed by the process-wide caches on ``app.state`` (the jurisdiction tree with its spatial
index, the current matrix version), so the hot path does no lookup queries once warm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.jurisdiction.repository import department_id as department_id_of

if TYPE_CHECKING:
    from app.matrix.cache import ItemSnapshot


class GridRef(Protocol):
    id: int
    code: str
    community_id: int
    street_id: int


class Lookups:
    def __init__(self, jurisdictions, matrix, suggester=None) -> None:
        self._jurisdictions = jurisdictions
        self._matrix = matrix
        self._departments: dict[str, int] = {}
        # Suggests the item of a post that names none (app.suggest); one per process.
        self.suggester = suggester or default_suggester()

    async def grid_by_code(self, session: AsyncSession, code: str) -> GridRef | None:
        tree = await self._jurisdictions.get(session)
        return tree.grid_by_code(code)

    async def locate(self, session: AsyncSession, lat: float, lon: float) -> GridRef | None:
        tree = await self._jurisdictions.get(session)
        return tree.locate(lat, lon)

    async def codes_above(self, session: AsyncSession, grid: GridRef) -> tuple[str, str]:
        """The codes of the grid's community and street."""
        tree = await self._jurisdictions.get(session)
        return tree.node(grid.community_id).code, tree.node(grid.street_id).code

    async def current_matrix(self, session: AsyncSession):
        return await self._matrix.current(session)

    async def current_item(self, session: AsyncSession, code: str) -> tuple[int, ItemSnapshot] | None:
        current = await self._matrix.current(session)
        if current is None:
            return None
        item = current.items.get(code)
        return (current.version_id, item) if item is not None else None

    async def department_id(self, session: AsyncSession, code: str) -> int | None:
        # Departments are never deleted or recoded, so a code → id map can be kept forever.
        if code not in self._departments:
            dept_id = await department_id_of(session, code)
            if dept_id is None:
                return None
            self._departments[code] = dept_id
        return self._departments[code]


def default_suggester():
    from app.config import get_settings
    from app.suggest.cache import Suggester

    settings = get_settings()
    return Suggester(check_seconds=settings.cache_check_seconds,
                     confidence=settings.suggest_confidence)


async def get_lookups(request: Request) -> Lookups:
    return request.app.state.lookups


LookupsDep = Annotated[Lookups, Depends(get_lookups)]
