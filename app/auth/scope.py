"""What part of the tree an actor may see and act in, as pure functions of the ``Actor``.

- ``ticket_scope_clause``: a SQL condition every ticket query adds, so a list never
  returns what the caller may not see and a ticket outside the scope answers 404.
- ``can_post_in_grid``: whether the actor may file a new ticket into a grid;
  ``can_read_grid``: whether a grid's aggregate figures are the actor's to read.
- ``can_see_contact`` / ``mask_phone``: residents' phone numbers are shown only to those
  who must call them back (the dispatchers of the ticket's tree and the department
  handling it); everyone else sees ``138****1234``.

Tickets carry their grid, community and street ids (denormalised), so every rule here is
an equality test on one column, never a walk up the tree.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, false, or_, true

from app.auth.actor import Actor
from app.auth.models import Role
from app.jurisdiction.models import Level

DEPARTMENT_ROLES = frozenset({Role.department_staff, Role.department_lead})


class GridRefLike(Protocol):
    id: int
    community_id: int
    street_id: int


def _node_column(ticket_model: Any, level: str | None) -> Any | None:
    """The ticket column holding the id of a node of ``level`` (its street, community, grid)."""
    columns = {
        Level.street.value: ticket_model.street_id,
        Level.community.value: ticket_model.community_id,
        Level.grid.value: ticket_model.grid_id,
    }
    return columns.get(level) if level else None


def ticket_scope_clause(actor: Actor, ticket_model: Any) -> ColumnElement[bool]:
    """The tickets ``actor`` may see, as a WHERE condition on ``ticket_model``'s columns.

    An actor whose scope is missing (a dispatcher without a node, say) sees nothing rather
    than everything: the condition fails closed."""
    role = actor.role
    node = actor.jurisdiction_id
    if role is Role.admin:
        return true()
    if role is Role.grid_worker:
        return ticket_model.grid_id.in_(sorted(actor.grid_ids)) if actor.grid_ids else false()
    if role is Role.integration:
        # A hotline or Open311 client reads back only what it filed, whatever its node scope.
        return ticket_model.created_by_api_key_id == actor.id
    if role in DEPARTMENT_ROLES:
        if actor.department_id is None:
            return false()
        # A department also sees the tickets its department was summoned to by a whistle.
        from app.whistle.service import summoned_ticket_ids  # local: the whistle imports auth

        return or_(ticket_model.department_id == actor.department_id,
                   ticket_model.id.in_(summoned_ticket_ids(actor.department_id)))
    if node is None:
        return false()
    if role is Role.community_dispatcher:
        return ticket_model.community_id == node
    if role is Role.street_dispatcher:
        return ticket_model.street_id == node
    if role is Role.supervisor:
        column = _node_column(ticket_model, actor.scope_level)
        return false() if column is None else column == node
    return false()


def can_post_in_grid(actor: Actor, grid: GridRefLike) -> bool:
    """Whether ``actor`` may file a new ticket into ``grid``."""
    role = actor.role
    if role is Role.admin:
        return True
    if role is Role.grid_worker:
        return grid.id in actor.grid_ids
    if role is Role.community_dispatcher:
        return actor.jurisdiction_id is not None and grid.community_id == actor.jurisdiction_id
    if role is Role.street_dispatcher:
        return actor.jurisdiction_id is not None and grid.street_id == actor.jurisdiction_id
    if role is Role.integration:
        # An unscoped key (a district-wide hotline) may file anywhere.
        return actor.jurisdiction_id is None or actor.jurisdiction_id in (
            grid.id, grid.community_id, grid.street_id)
    return False


def can_read_grid(actor: Actor, grid: GridRefLike) -> bool:
    """Whether what ``grid``'s tickets add up to (the items it usually reports, say) is
    ``actor``'s to read: a grid the actor may post in, or one inside a supervisor's node."""
    if can_post_in_grid(actor, grid):
        return True
    if actor.role is Role.supervisor and actor.jurisdiction_id is not None:
        return actor.jurisdiction_id in (grid.id, grid.community_id, grid.street_id)
    return False


def can_see_contact(actor: Actor, *, street_id: int | None, community_id: int | None,
                    department_id: int | None) -> bool:
    """Whether ``actor`` sees a ticket's reporter contact details unmasked."""
    role = actor.role
    if role is Role.admin:
        return True
    if role is Role.community_dispatcher:
        return community_id is not None and actor.jurisdiction_id == community_id
    if role is Role.street_dispatcher:
        return street_id is not None and actor.jurisdiction_id == street_id
    if role in DEPARTMENT_ROLES:
        return department_id is not None and actor.department_id == department_id
    return False


def contact_visible_clause(user_model: Any, *, street_id: int | None, community_id: int | None,
                           department_id: int | None) -> ColumnElement[bool]:
    """``can_see_contact`` as a SQL condition on a users table's columns (role, node,
    department), for statements that choose each recipient's view in the database. The
    two are kept equal by ``tests/notifications/test_scope.py``."""
    role = user_model.role
    allowed = [role == Role.admin.value]
    if community_id is not None:
        allowed.append(and_(role == Role.community_dispatcher.value,
                            user_model.jurisdiction_id == community_id))
    if street_id is not None:
        allowed.append(and_(role == Role.street_dispatcher.value,
                            user_model.jurisdiction_id == street_id))
    if department_id is not None:
        allowed.append(and_(role.in_(sorted(r.value for r in DEPARTMENT_ROLES)),
                            user_model.department_id == department_id))
    return or_(*allowed)


def mask_phone(phone: str | None) -> str | None:
    """13812341234 → 138****1234; a shorter number keeps only its last four digits."""
    if not phone:
        return phone
    phone = phone.strip()
    if len(phone) >= 10:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    if len(phone) > 4:
        return "*" * (len(phone) - 4) + phone[-4:]
    return "*" * len(phone)
