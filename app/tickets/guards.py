"""Whether an actor holds a ``Relation`` to a ticket, or could: pure, the ticket row and the
actor.

The two questions decide 403 against 409 (the README's rule): an actor who could never hold
any relation an action needs — by role, or by where the ticket is (its grid, community,
street, level, department) — is refused with 403; one who could, but not in this state or
not yet (the workflow itself gives the part: claiming makes the assignee, a whistle summons
a department), gets 409.
"""

from __future__ import annotations

from collections.abc import Collection

from app.auth.actor import Actor
from app.auth.models import Role
from app.tickets.models import Ticket
from app.tickets.workflow import Relation, Transition

DEPARTMENT_ROLES = (Role.department_staff, Role.department_lead)


def _in_department(actor: Actor, department_id: int | None) -> bool:
    return actor.role in DEPARTMENT_ROLES and department_id is not None \
        and actor.department_id == department_id


def _community_dispatcher_of(actor: Actor, ticket: Ticket) -> bool:
    return actor.role is Role.community_dispatcher and actor.jurisdiction_id == ticket.community_id


def _street_dispatcher_of(actor: Actor, ticket: Ticket) -> bool:
    return actor.role is Role.street_dispatcher and actor.jurisdiction_id == ticket.street_id


def _grid_worker_of(actor: Actor, ticket: Ticket) -> bool:
    return actor.role is Role.grid_worker and ticket.grid_id in actor.grid_ids


def holds(relation: Relation, actor: Actor, ticket: Ticket, *,
          summoned_departments: Collection[int] = ()) -> bool:
    match relation:
        case Relation.queue_holder:
            if ticket.awaiting_triage:
                return False  # 待分拨: in a triage queue, no one's work queue, until routed
            if ticket.level == "street":
                return _in_department(actor, ticket.department_id)
            if ticket.level == "community":
                return _community_dispatcher_of(actor, ticket)
            return _grid_worker_of(actor, ticket)
        case Relation.assignee:
            return actor.user_id is not None and ticket.assignee_id == actor.user_id
        case Relation.department_lead:
            return actor.role is Role.department_lead and _in_department(actor,
                                                                         ticket.department_id)
        case Relation.grid_worker_of_grid:
            return _grid_worker_of(actor, ticket)
        case Relation.reporter:
            return _grid_worker_of(actor, ticket) and ticket.created_by_user_id == actor.user_id
        case Relation.dispatcher:
            return _community_dispatcher_of(actor, ticket) or _street_dispatcher_of(actor, ticket)
        case Relation.street_dispatcher:
            return _street_dispatcher_of(actor, ticket)
        case Relation.rerouter:
            # Grid-level tickets were routed into the community, and the community triages
            # what waits in its triage queue (待分拨); everything else by the street.
            if (ticket.level == "grid" or (ticket.level == "community"
                                           and ticket.awaiting_triage)) \
                    and _community_dispatcher_of(actor, ticket):
                return True
            return _street_dispatcher_of(actor, ticket)
        case Relation.poster:
            return actor.role is Role.integration and ticket.created_by_api_key_id == actor.id
        case Relation.summoned:
            return actor.role in DEPARTMENT_ROLES and actor.department_id in summoned_departments
        case Relation.approver:
            # The level above the ticket's: the community approves for a grid ticket, the
            # street for community tickets and department (street-level) tickets.
            if ticket.level == "grid" and _community_dispatcher_of(actor, ticket):
                return True
            return _street_dispatcher_of(actor, ticket)
        case Relation.admin:
            return actor.role is Role.admin
    return False


def may_take(transition: Transition, actor: Actor, ticket: Ticket, *,
             summoned_departments: Collection[int] = ()) -> bool:
    return any(holds(r, actor, ticket, summoned_departments=summoned_departments)
               for r in transition.who)


def could_hold(relation: Relation, actor: Actor, ticket: Ticket, *,
               summoned_departments: Collection[int] = ()) -> bool:
    """Whether the actor holds ``relation`` now, or the workflow itself can give it to them
    with the ticket where it is: the assignee's part to whoever works its queue (by claiming
    it), a summoned department's to any department (by a whistle)."""
    if holds(relation, actor, ticket, summoned_departments=summoned_departments):
        return True
    match relation:
        case Relation.assignee:
            return holds(Relation.queue_holder, actor, ticket)
        case Relation.summoned:
            return actor.role in DEPARTMENT_ROLES
    return False


def may_ever_take(transition: Transition, actor: Actor, ticket: Ticket, *,
                  summoned_departments: Collection[int] = ()) -> bool:
    """False: 403, whatever the ticket's state. True but not ``may_take``: 409."""
    return any(could_hold(r, actor, ticket, summoned_departments=summoned_departments)
               for r in transition.who)
