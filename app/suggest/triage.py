"""The triage queues (待分拨): tickets posted without an item that no suggestion was
confident about. Each waits in no department's queue until a dispatcher routes it with the
existing reroute (改派) — which records the correction the model learns from.

Which level's queue: the community's when every item the model finds plausible — scoring
at least ``PLAUSIBLE_SHARE_OF_TOP`` of the best item's score — is handled at the grid or
the community, so a vague report of something only the community handles (邻里纠纷 or
物业纠纷?) is triaged by those who handle it (大事不出社区); otherwise the street's, as it
may be any department's. A community that cannot route one escalates it (上报): it climbs
into the street's triage queue. (Chosen on the evaluation's tune cases; bench/RESULTS.md.)
"""

from __future__ import annotations

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role
from app.auth.scope import ticket_scope_clause
from app.errors import Forbidden, NotFound
from app.messages import M, render
from app.tickets import repository as tickets_repo
from app.tickets.models import Status, Ticket
from app.tickets.repository import TicketView
from app.tickets.routing import Routing

# An item scoring at least this share of the best item's score is plausible.
PLAUSIBLE_SHARE_OF_TOP = 0.2
TRIAGE_LEVELS = ("street", "community")


def triage_level(probabilities: np.ndarray, street_items: np.ndarray) -> str:
    """The level whose triage queue an unconfident post waits in (``street_items``: which
    items route above the community, to a department at the street)."""
    plausible = probabilities >= PLAUSIBLE_SHARE_OF_TOP * probabilities.max()
    return "street" if street_items[plausible].any() else "community"


def triage_routing(item_code: str, score: float, level: str = "street") -> Routing:
    """Where a post goes when no suggestion is confident: a triage queue."""
    message = "routing.triage" if level == "street" else "routing.triage_community"
    return Routing(level, Status.dispatched, None,
                   render(message, item=item_code, score=f"{score:.2f}"))


def is_awaiting_triage():
    """The condition of a ticket in a triage queue (of either level)."""
    return Ticket.awaiting_triage.is_(True) & Ticket.department_id.is_(None) \
        & (Ticket.status == Status.dispatched.value)


async def triage_queue(*, session: AsyncSession, actor: Actor, street_code: str,
                       limit: int) -> list[TicketView]:
    """The triage queue of a street or of a community (``street_code``: either's code)."""
    node = await tickets_repo.node_by_code(session, street_code)
    if node is None or node.level not in TRIAGE_LEVELS:
        raise NotFound(M("error.no_community_or_street", code=street_code))
    if actor.role is Role.community_dispatcher and (
            node.level != "community" or node.id != actor.jurisdiction_id):
        # A community's dispatchers triage their own community's posts, no other queue.
        raise Forbidden(M("error.triage_not_yours", code=street_code))
    at_node = Ticket.street_id == node.id if node.level == "street" \
        else Ticket.community_id == node.id
    stmt = (tickets_repo.view_select()
            .where(at_node, Ticket.level == node.level, is_awaiting_triage(),
                   ticket_scope_clause(actor, Ticket))
            .order_by((Ticket.urgency == "urgent").desc(), Ticket.id).limit(limit))
    return await tickets_repo.load_views(session, stmt)
