"""``whistle suggest-train``: the model for the current matrix version, rebuilt from the
matrix's words and the history, stored in the database for every process to serve.

History is the newest closed tickets' descriptions with their final items
(``WHISTLE_SUGGEST_TRAINING_TICKETS``), and every correction
(a reroute to another item: 改派) with the item the dispatcher chose, weighted
``CORRECTION_WEIGHT`` times: a dispatcher who corrects a route says what the text means
more surely than a ticket that merely closed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import InvalidInput
from app.matrix import repository as matrix_repo
from app.messages import M
from app.suggest import repository as repo
from app.suggest.cache import matrix_items
from app.suggest.fitting import Example, fit_scorer
from app.suggest.models import SuggestModel

CORRECTION_WEIGHT = 5.0
TRAINING_TICKETS = Settings.model_fields["suggest_training_tickets"].default


@dataclass(frozen=True, slots=True)
class Trained:
    version: str
    matrix_version_id: int
    examples: dict[str, int]


async def history_examples(session: AsyncSession, *,
                           closed_limit: int) -> tuple[list[Example], dict[str, int]]:
    closed = [Example(text, code)
              for text, code in await repo.closed_tickets(session, limit=closed_limit)]
    corrected = [Example(text, code, CORRECTION_WEIGHT)
                 for text, code in await repo.corrections(session)]
    return closed + corrected, {"closed_tickets": len(closed), "corrections": len(corrected)}


async def train(*, session: AsyncSession, now: datetime,
                closed_limit: int = TRAINING_TICKETS) -> Trained:
    version_id = await matrix_repo.newest_version_id(session)
    if version_id is None:
        raise InvalidInput.at(["matrix"], M("suggest.no_matrix_to_train"))
    items = await matrix_items(session, version_id)
    history, counts = await history_examples(session, closed_limit=closed_limit)
    label = f"m{version_id}-{now:%Y%m%dT%H%M%S}-{await repo.model_count(session, version_id) + 1}"
    # Seconds of CPU: off the event loop (this also runs inside the API's tests).
    scorer = await asyncio.to_thread(fit_scorer, items, history, version=label)
    examples = {"matrix_phrases": sum(len(i.phrases()) for i in items), **counts}
    repo.add_model(session, SuggestModel(matrix_version_id=version_id, version=label,
                                         examples=examples, scorer=scorer.to_bytes(),
                                         trained_at=now))
    await session.flush()
    return Trained(label, version_id, examples)
