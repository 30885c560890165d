"""The current matrix, cached in each API process for the hot path (posting tickets).

Posting a ticket needs the current version and one item by code. Rather than query for
them on every post, each process keeps an immutable snapshot of the newest version and
asks the database "is there a newer one?" at most every ``cache_check_seconds`` (a single
``max(id)`` query); only when the answer changes does it load the new version's items.
Versions are immutable, so a snapshot never goes stale in any other way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.matrix import repository as repo
from app.matrix.categories import resolve_grace, response_grace
from app.matrix.models import MatrixItem, MatrixVersion


@dataclass(frozen=True, slots=True)
class ItemSnapshot:
    """A read-only copy of one ``MatrixItem`` row: everything routing and SLA need."""

    id: int
    version_id: int
    code: str
    category_code: str
    name: str
    description: str
    keywords: tuple[str, ...]
    handling_level: str
    self_handle_allowed: bool
    negative_list: bool
    primary_department: str | None
    co_departments: tuple[str, ...]
    time_basis: str
    response_minutes: int
    resolve_minutes: int
    urgent_response_minutes: int
    urgent_resolve_minutes: int
    photo_required: bool
    response_grace_minutes: int | None
    resolve_grace_minutes: int | None
    auto_whistle: bool

    @property
    def response_grace(self) -> int:
        """The item's grace past its response limit, falling back to its category's."""
        return response_grace(self)

    @property
    def resolve_grace(self) -> int:
        """The item's grace past its resolution limit, falling back to its category's."""
        return resolve_grace(self)

    @classmethod
    def of(cls, item: MatrixItem) -> ItemSnapshot:
        return cls(
            id=item.id, version_id=item.version_id, code=item.code,
            category_code=item.category_code, name=item.name, description=item.description,
            keywords=tuple(item.keywords or ()), handling_level=item.handling_level,
            self_handle_allowed=item.self_handle_allowed, negative_list=item.negative_list,
            primary_department=item.primary_department,
            co_departments=tuple(item.co_departments or ()), time_basis=item.time_basis,
            response_minutes=item.response_minutes, resolve_minutes=item.resolve_minutes,
            urgent_response_minutes=item.urgent_response_minutes,
            urgent_resolve_minutes=item.urgent_resolve_minutes,
            photo_required=item.photo_required,
            response_grace_minutes=item.response_grace_minutes,
            resolve_grace_minutes=item.resolve_grace_minutes,
            auto_whistle=item.auto_whistle,
        )


@dataclass(frozen=True, slots=True)
class CurrentMatrix:
    version_id: int
    label: str
    created_at: datetime
    item_count: int
    items: Mapping[str, ItemSnapshot]  # code → item, in code order


async def load_matrix(session: AsyncSession, version: MatrixVersion) -> CurrentMatrix:
    items = {i.code: ItemSnapshot.of(i) for i in await repo.items_of(session, version.id)}
    return CurrentMatrix(version_id=version.id, label=version.label,
                         created_at=version.created_at, item_count=version.item_count,
                         items=MappingProxyType(items))


class MatrixCache:
    """One per process (``app.state.matrix_cache``); see the module docstring."""

    def __init__(self, *, check_seconds: float) -> None:
        self._check_seconds = check_seconds
        self._current: CurrentMatrix | None = None
        self._checked_at: float | None = None
        self._lock = asyncio.Lock()
        self.loads = 0  # how many versions were loaded: observable by tests and metrics

    def invalidate(self) -> None:
        """Check the database on the next call (after an import in this process)."""
        self._checked_at = None

    async def current(self, session: AsyncSession,
                      now_monotonic: float | None = None) -> CurrentMatrix | None:
        """The newest version and its items, or None while no matrix has been imported."""
        now = time.monotonic() if now_monotonic is None else now_monotonic
        if self._fresh(now):
            return self._current
        if self._lock.locked() and self._checked_at is not None:
            # Another request is checking: use what we have rather than wait. Waiting could
            # deadlock a full pool — the checker may need a connection that a waiter holds.
            return self._current
        async with self._lock:  # one reload at a time; waiters then find it fresh
            if self._fresh(now):
                return self._current
            newest = await repo.newest_version_id(session)
            known = self._current.version_id if self._current else None
            # Versions only ever get newer: never replace a snapshot with an older one.
            if newest is not None and (known is None or newest > known):
                version = await session.get(MatrixVersion, newest)
                if version is not None:
                    self._current = await load_matrix(session, version)
                    self.loads += 1
            self._checked_at = now
            return self._current

    def _fresh(self, now: float) -> bool:
        return self._checked_at is not None and now - self._checked_at < self._check_seconds


async def matrix_cache(request: Request) -> MatrixCache:
    """The process's cache; created on first use if ``create_app`` did not make one."""
    state = request.app.state
    cache = getattr(state, "matrix_cache", None)
    if cache is None:
        cache = state.matrix_cache = MatrixCache(check_seconds=state.settings.cache_check_seconds)
    return cache


MatrixCacheDep = Annotated[MatrixCache, Depends(matrix_cache)]
