"""Posting without an item: the item resolved from the text before routing runs.

The text is read with the post's grid as context (``app.suggest.context``: the items its
recent tickets had). A confident suggestion routes the post by its item, as if the poster
had chosen it; the ticket's ``created`` event records ``suggestion`` (the item, the score,
the model version and ``routed: true``). Otherwise the post waits in a triage queue
(待分拨) under the best guess, recorded with ``routed: false`` and the ``triage`` level, for
a dispatcher to route: its community's when every plausible item is the community's, else
its street's (``app.suggest.triage``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
    triage_level: str = "street"  # the queue it waits in when not confident

    def routing(self, by_item: Routing) -> Routing:
        """The routing of the post: the item's when confident, else a triage queue."""
        return by_item if self.confident else triage_routing(self.item_code, self.score,
                                                             self.triage_level)

    def event_data(self) -> dict[str, Any]:
        return {"item": self.item_code, "score": self.score, "model_version": self.model_version,
                "routed": self.confident,
                **({} if self.confident else {"triage": self.triage_level})}


async def pick_item(*, session: AsyncSession, lookups, text: str, self_handle: bool,
                    now: datetime | None = None) -> TextPick:
    """The item for a post that names none (``lookups``: ``app.tickets.lookups.Lookups``),
    from its text alone: no context (see README, 智能分拨)."""
    matrix = await lookups.current_matrix(session)
    found = await service.suggest(session=session, suggester=lookups.suggester, matrix=matrix,
                                  text=text, limit=1, context=None, now=now)
    top = found.top
    if top is None:  # nothing readable: the street's triage, under the matrix's first item
        pick = TextPick(next(iter(matrix.items)), False, 0.0, found.model_version)
    else:
        pick = TextPick(top.item.code, found.confident, top.score, found.model_version,
                        found.triage_level)
    if self_handle and not pick.confident:
        raise InvalidInput.at(["body", "item"], M("suggest.no_confident"), "missing")
    return pick
