"""Suggesting matrix items for a text: the top items, each with its score, where it would
route (level and department) and the words that drove it, and whether the top one is
confident enough to route by (``WHISTLE_SUGGEST_CONFIDENCE``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.matrix.cache import CurrentMatrix, ItemSnapshot
from app.messages import M
from app.suggest.cache import Suggester
from app.suggest.model import LinearScorer
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

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def rank(scorer: LinearScorer, matrix: CurrentMatrix, text: str, *, limit: int,
         threshold: float) -> Suggestions:
    vector = scorer.vector(text)
    if vector.empty:
        return Suggestions(matrix.version_id, scorer.version, [], False, threshold, NOTHING_KNOWN)
    probabilities = scorer.probabilities(vector)
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
    return Suggestions(matrix.version_id, scorer.version, candidates, confident, threshold, note)


async def suggest(*, session: AsyncSession, suggester: Suggester, matrix: CurrentMatrix | None,
                  text: str, limit: int = 3) -> Suggestions:
    if matrix is None:
        raise InvalidInput.at(["body", "text"], M("suggest.no_matrix"), "no_matrix")
    scorer = await suggester.scorer(session, matrix)
    return rank(scorer, matrix, text, limit=limit, threshold=suggester.confidence)
