"""The scorer each API process serves, kept fresh like the matrix cache.

For the current matrix version it serves the newest trained model, and until one is
trained, the model built from the matrix alone. It asks the database "is there a newer
model for this version?" at most every ``cache_check_seconds`` (one ``max(id)`` query), so
a ``whistle suggest-train`` in another process is served everywhere within that time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.matrix.cache import CurrentMatrix
from app.suggest import repository as repo
from app.suggest.context import CONTEXT_DAYS
from app.suggest.matrix_model import ItemText, matrix_scorer, matrix_version_label
from app.suggest.model import LinearScorer


async def matrix_items(session: AsyncSession, version_id: int) -> list[ItemText]:
    return [ItemText(code, name, description or "", tuple(keywords or ()), tuple(synonyms or ()))
            for code, name, description, keywords, synonyms
            in await repo.item_texts(session, version_id)]


MAX_CACHED_GRIDS = 20_000  # a district's grids; beyond that the cache starts over


class Suggester:
    """One per process (``app.state.suggester``)."""

    def __init__(self, *, check_seconds: float, confidence: float) -> None:
        self._check_seconds = check_seconds
        self.confidence = confidence  # WHISTLE_SUGGEST_CONFIDENCE
        self._key: tuple[int, int | None] | None = None  # (matrix version, model id or None)
        self._scorer: LinearScorer | None = None
        self._checked_at: float | None = None
        self._lock = asyncio.Lock()
        # The base rates of the context prior (app.suggest.context): item counts over the
        # window, refreshed at most every ``check_seconds``.
        self._base_counts: dict[str, int] = {}
        self._base_checked_at: float | None = None
        # Each grid's item counts over the window, kept as long (grid id → (when, counts)).
        self._grid_counts: dict[int, tuple[float, dict[str, int]]] = {}

    def invalidate(self) -> None:
        """Check the database on the next call (after training in this process)."""
        self._checked_at = None
        self._base_checked_at = None
        self._grid_counts.clear()

    async def base_counts(self, session: AsyncSession, now: datetime) -> dict[str, int]:
        """Every ticket's item counts over the context window (one query, then cached)."""
        clock = time.monotonic()
        if self._base_checked_at is None or clock - self._base_checked_at >= self._check_seconds:
            self._base_counts = await repo.item_counts(
                session, since=now - timedelta(days=CONTEXT_DAYS))
            self._base_checked_at = clock
        return self._base_counts

    async def grid_counts(self, session: AsyncSession, grid, now: datetime) -> dict[str, int]:
        """One grid's item counts over the context window (a ``GridRef``; one indexed
        query, then cached as long as the base rates)."""
        clock = time.monotonic()
        kept = self._grid_counts.get(grid.id)
        if kept is not None and clock - kept[0] < self._check_seconds:
            return kept[1]
        counts = await repo.item_counts(session, since=now - timedelta(days=CONTEXT_DAYS),
                                        grid=grid)
        if len(self._grid_counts) >= MAX_CACHED_GRIDS:
            self._grid_counts.clear()
        self._grid_counts[grid.id] = (clock, counts)
        return counts

    async def scorer(self, session: AsyncSession, matrix: CurrentMatrix) -> LinearScorer:
        now = time.monotonic()
        if self._fresh(now, matrix.version_id):
            assert self._scorer is not None
            return self._scorer
        async with self._lock:
            if self._fresh(now, matrix.version_id):
                assert self._scorer is not None
                return self._scorer
            model_id = await repo.newest_model_id(session, matrix.version_id)
            key = (matrix.version_id, model_id)
            if key != self._key or self._scorer is None:
                if model_id is None:
                    items = await matrix_items(session, matrix.version_id)
                    label = matrix_version_label(matrix.version_id)
                    # CPU work of ~0.1 s: off the event loop, so other requests go on.
                    self._scorer = await asyncio.to_thread(matrix_scorer, items, version=label)
                else:
                    data = await repo.model_bytes(session, model_id)
                    self._scorer = await asyncio.to_thread(LinearScorer.from_bytes, data)
                self._key = key
            self._checked_at = now
            return self._scorer

    def _fresh(self, now: float, matrix_version_id: int) -> bool:
        return (self._key is not None and self._key[0] == matrix_version_id
                and self._checked_at is not None and now - self._checked_at < self._check_seconds)


async def suggester(request: Request) -> Suggester:
    return request.app.state.suggester
