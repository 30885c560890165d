"""Suggesting matrix items for a text: the top items, each with its score, where it would
route (level and department) and the words that drove it, and whether the top one is
confident enough to route by (``WHISTLE_SUGGEST_CONFIDENCE``). Optional context — the
report's grid, the poster's recent items — re-weighs the text's scores
(``app.suggest.context``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.matrix.cache import CurrentMatrix, ItemSnapshot
from app.messages import M
from app.suggest import context as ctx
from app.suggest.cache import Suggester
from app.suggest.model import LinearScorer
from app.suggest.triage import triage_level
from app.tickets.routing import route

NOTHING_KNOWN = ("nothing in the text matches the matrix's words: no confident suggestion "
                 "(describe what happened and where, in Chinese)")


@dataclass(frozen=True, slots=True)
class Candidate:
    item: ItemSnapshot
    score: float
    level: str
    department: str | None
    words: list[str]


@dataclass(frozen=True, slots=True)
class Suggestions:
    matrix_version_id: int
    model_version: str
    candidates: list[Candidate]
    confident: bool
    threshold: float
    note: str | None
    # Which level's triage queue an unconfident post waits in (app.suggest.triage).
    triage_level: str = "street"

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


_STREET_MASKS: dict[tuple[str, int], np.ndarray] = {}


def street_mask(scorer: LinearScorer, matrix: CurrentMatrix) -> np.ndarray:
    """Which of the scorer's items are street-level (kept per model and matrix version)."""
    key = (scorer.version, matrix.version_id)
    mask = _STREET_MASKS.get(key)
    if mask is None:
        mask = np.fromiter(((item := matrix.items.get(code)) is None
                            or item.handling_level not in ("grid", "community")
                            for code in scorer.item_codes), bool, len(scorer.item_codes))
        if len(_STREET_MASKS) > 16:
            _STREET_MASKS.clear()
        _STREET_MASKS[key] = mask
    return mask


def rank(scorer: LinearScorer, matrix: CurrentMatrix, text: str, *, limit: int,
         threshold: float, prior: np.ndarray | None = None) -> Suggestions:
    vector = scorer.vector(text)
    if vector.empty:
        return Suggestions(matrix.version_id, scorer.version, [], False, threshold, NOTHING_KNOWN)
    probabilities = ctx.blend(scorer.probabilities(vector), prior)
    candidates: list[Candidate] = []
    for index in np.argsort(-probabilities):
        item = matrix.items.get(scorer.item_codes[index])
        if item is None:
            continue  # cannot happen: a scorer is built for its version's items
        routing = route(item, self_handle=False, may_self_handle=False)
        candidates.append(Candidate(item, round(float(probabilities[index]), 4), routing.level,
                                    routing.department_code, scorer.drivers(vector, int(index))))
        if len(candidates) == limit:
            break
    confident = candidates[0].score >= threshold
    note = None if confident else (
        f"no confident suggestion: the best item scores {candidates[0].score:.2f}, "
        f"below the threshold {threshold:.2f}")
    return Suggestions(matrix.version_id, scorer.version, candidates, confident, threshold, note,
                       triage_level(probabilities, street_mask(scorer, matrix)))


async def context_for(*, session: AsyncSession, suggester: Suggester,
                      matrix: CurrentMatrix | None, grid=None,
                      recent_items: Sequence[str] = (), now: datetime) -> ctx.Context:
    """The context of a report in ``grid`` (a ``GridRef``) by a poster who recently
    reported ``recent_items`` (each must be an item of the current matrix)."""
    for k, code in enumerate(recent_items):
        if matrix is not None and code not in matrix.items:
            raise InvalidInput.at(["body", "recent_items", k],
                                  M("suggest.no_recent_item", code=code), "unknown_item")
    grid_counts = {} if grid is None else await suggester.grid_counts(session, grid, now)
    return ctx.Context(grid_counts, tuple(recent_items))


async def suggest(*, session: AsyncSession, suggester: Suggester, matrix: CurrentMatrix | None,
                  text: str, limit: int = 3, context: ctx.Context | None = None,
                  now: datetime | None = None) -> Suggestions:
    if matrix is None:
        raise InvalidInput.at(["body", "text"], M("suggest.no_matrix"), "no_matrix")
    scorer = await suggester.scorer(session, matrix)
    factor = None
    if context is not None and not context.empty:
        assert now is not None, "a context needs the time its window ends"
        factor = ctx.prior(scorer.item_codes, await suggester.base_counts(session, now), context)
    return rank(scorer, matrix, text, limit=limit, threshold=suggester.confidence,
                prior=factor)
