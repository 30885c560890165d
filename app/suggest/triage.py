"""The triage queue (待分拨): tickets posted without an item that no suggestion was
confident about. They wait at the street, in no department's queue, until a dispatcher
routes them with the existing reroute (改派) — which records the correction the model
learns from."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.scope import ticket_scope_clause
from app.errors import NotFound
from app.messages import M, render
from app.tickets import repository as tickets_repo
from app.tickets.models import Status, Ticket
from app.tickets.repository import TicketView
from app.tickets.routing import Routing

TRIAGE_LEVEL = "street"


def triage_routing(item_code: str, score: float) -> Routing:
    """Where a post goes when no suggestion is confident: the street's triage queue."""
    return Routing(TRIAGE_LEVEL, Status.dispatched, None,
                   render("routing.triage", item=item_code, score=f"{score:.2f}"))


def is_awaiting_triage():
    """The condition of a ticket in a triage queue: at the street in no department's queue
    (posting never routes there otherwise: a street item always names its department)."""
    return (Ticket.level == TRIAGE_LEVEL) & Ticket.department_id.is_(None) \
        & (Ticket.status == Status.dispatched.value)


async def triage_queue(*, session: AsyncSession, actor: Actor, street_code: str,
                       limit: int) -> list[TicketView]:
    node = await tickets_repo.node_by_code(session, street_code)
    if node is None or node.level != "street":
        raise NotFound(M("error.no_street", code=street_code))
    stmt = (tickets_repo.view_select()
            .where(Ticket.street_id == node.id, is_awaiting_triage(),
                   ticket_scope_clause(actor, Ticket))
            .order_by((Ticket.urgency == "urgent").desc(), Ticket.id).limit(limit))
    return await tickets_repo.load_views(session, stmt)
