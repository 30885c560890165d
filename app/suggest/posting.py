"""Posting without an item: the item resolved from the text before routing runs.

A confident suggestion routes the post by its item, as if the poster had chosen it; the
ticket's ``created`` event records ``suggestion`` (the item, the score, the model version
and ``routed: true``). Otherwise the post lands in the street's triage queue (待分拨) under
the best guess, recorded with ``routed: false``, for a dispatcher to route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.messages import M
from app.suggest import service
from app.suggest.triage import triage_routing
from app.tickets.routing import Routing


@dataclass(frozen=True, slots=True)
class TextPick:
    item_code: str
    confident: bool
    score: float
    model_version: str

    def routing(self, by_item: Routing) -> Routing:
        """The routing of the post: the item's when confident, else the triage queue."""
        return by_item if self.confident else triage_routing(self.item_code, self.score)

    def event_data(self) -> dict[str, Any]:
        return {"item": self.item_code, "score": self.score, "model_version": self.model_version,
                "routed": self.confident}


async def pick_item(*, session: AsyncSession, lookups, text: str,
                    self_handle: bool) -> TextPick:
    """The item for a post that names none (``lookups``: ``app.tickets.lookups.Lookups``)."""
    matrix = await lookups.current_matrix(session)
    found = await service.suggest(session=session, suggester=lookups.suggester, matrix=matrix,
                                  text=text, limit=1)
    top = found.top
    if top is None:  # nothing readable: triage, filed under the matrix's first item
        pick = TextPick(next(iter(matrix.items)), False, 0.0, found.model_version)
    else:
        pick = TextPick(top.item.code, found.confident, top.score, found.model_version)
    if self_handle and not pick.confident:
        raise InvalidInput.at(["body", "item"], M("suggest.no_confident"), "missing")
    return pick
