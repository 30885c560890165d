"""What an action's effect works with: the request's input and the action in progress.

Effects live with the domain whose data they write (``app.workflow.actions`` for the
ticket's own columns, ``app.sla.effects`` for escalation, extensions and suspensions,
``app.whistle.service`` for the whistle); the workflow table names each action's effect and
``app.workflow.actions`` maps the names to them. They share this context, which sits in
the tickets domain so that every domain may import it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.config import Settings
from app.tickets.lookups import Lookups
from app.tickets.models import Ticket
from app.tickets.workflow import Transition


@dataclass(frozen=True, slots=True)
class ActionInput:
    reason: str | None = None
    result: str | None = None
    attachments: list[int] = field(default_factory=list)
    target_ticket_id: int | None = None
    assignee_id: int | None = None
    rating: str | None = None
    comment: str | None = None
    item: str | None = None
    department: str | None = None
    minutes: int | None = None
    departments: list[str] | None = None
    note: str | None = None


@dataclass(slots=True)
class Context:
    session: AsyncSession
    actor: Actor
    ticket: Ticket
    transition: Transition
    data: ActionInput
    now: datetime
    settings: Settings
    lookups: Lookups
    values: dict[str, Any] = field(default_factory=dict)
    event_data: dict[str, Any] = field(default_factory=dict)
    after: list[Callable[[int], Awaitable[None]]] = field(default_factory=list)


# What an action does beyond its state change: it may refuse (raising), add column values
# to the action's UPDATE, data to its event, and steps to run once the event is written.
Effect = Callable[[Context], Awaitable[None]]
