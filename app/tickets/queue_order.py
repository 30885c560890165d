"""The one order of a queue: most urgent first (an explicit rank, not the alphabetical order
of the urgencies' names), then the nearest resolution deadline (none last), then the oldest.

The queue listings (``GET …/queue``) sort by it and claim-next hands out the first ticket
in it, so what a member of staff sees first is what they get; a property test checks the
two agree (``tests/tickets/test_queue_order.py``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case

from app.tickets.models import Urgency

# Most urgent first.
URGENCY_RANK: tuple[Urgency, ...] = (Urgency.urgent, Urgency.normal)
assert set(URGENCY_RANK) == set(Urgency), "rank every urgency"


def urgency_rank(urgency: Any) -> Any:
    """The urgency column's rank (0 = most urgent), for an ORDER BY."""
    return case({u.value: rank for rank, u in enumerate(URGENCY_RANK)}, value=urgency)


def within_urgency(table: Any) -> tuple[Any, ...]:
    """The order among tickets of one urgency: nearest deadline (none last), then oldest —
    the order of ``ix_tickets_queue`` after its equality columns, so claim-next's probe per
    urgency stops at the first row."""
    return (table.c.resolve_due_at.asc().nulls_last(), table.c.id)


def queue_order(table: Any) -> tuple[Any, ...]:
    """The whole order, for a listing (claim-next walks ``URGENCY_RANK`` instead)."""
    return (urgency_rank(table.c.urgency), *within_urgency(table))
