"""The scope rules as pure functions: contact masking, posting into grids, and the ticket
scope clause. The clause is tested at the SQL level (compiled, with its bound values):
tickets need matrix rows to exist, so the tickets engineer's tests check it end to end."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.auth.actor import Actor
from app.auth.models import Role
from app.auth.scope import can_post_in_grid, can_see_contact, mask_phone, ticket_scope_clause
from app.tickets.models import Ticket

# A street 1 with communities 10 (grids 100, 101) and 11 (grid 110); department 7.
STREET, COMM, OTHER_COMM, GRID, GRID2, OTHER_GRID, DEPT = 1, 10, 11, 100, 101, 110, 7


def actor(role: Role, **kw) -> Actor:
    return Actor(kind="api_key" if role is Role.integration else "user", id=42, role=role,
                 name="t", **kw)


GRID_WORKER = actor(Role.grid_worker, grid_ids=frozenset({GRID, GRID2}))
COMM_DISPATCHER = actor(Role.community_dispatcher, jurisdiction_id=COMM, scope_level="community")
STREET_DISPATCHER = actor(Role.street_dispatcher, jurisdiction_id=STREET, scope_level="street")
STAFF = actor(Role.department_staff, department_id=DEPT)
LEAD = actor(Role.department_lead, department_id=DEPT)
ADMIN = actor(Role.admin)


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812341234", "138****1234"),
    ("+8613812341234", "+86*******1234"),
    ("010-12345678", "010*****5678"),
    ("12345678", "****5678"),
    ("1234", "****"),
    ("", ""),
    (None, None),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


TICKET = {"street_id": STREET, "community_id": COMM, "department_id": DEPT}


@pytest.mark.parametrize(("who", "sees"), [
    (ADMIN, True),
    (COMM_DISPATCHER, True),
    (STREET_DISPATCHER, True),
    (STAFF, True),
    (LEAD, True),
    (actor(Role.community_dispatcher, jurisdiction_id=OTHER_COMM), False),
    (actor(Role.street_dispatcher, jurisdiction_id=2), False),
    (actor(Role.department_staff, department_id=8), False),
    (GRID_WORKER, False),
    (actor(Role.supervisor, jurisdiction_id=STREET, scope_level="street"), False),
    (actor(Role.integration), False),
])
def test_who_sees_the_reporters_contact(who, sees):
    assert can_see_contact(who, **TICKET) is sees


def test_unrouted_ticket_contact_is_masked_for_departments():
    assert not can_see_contact(actor(Role.department_staff, department_id=None),
                               street_id=STREET, community_id=COMM, department_id=None)


@dataclass
class Grid:
    id: int
    community_id: int
    street_id: int


IN_COMM = Grid(GRID, COMM, STREET)
IN_OTHER_COMM = Grid(OTHER_GRID, OTHER_COMM, STREET)
IN_OTHER_STREET = Grid(900, 90, 9)


@pytest.mark.parametrize(("who", "grid", "may"), [
    (GRID_WORKER, IN_COMM, True),
    (GRID_WORKER, IN_OTHER_COMM, False),
    (COMM_DISPATCHER, IN_COMM, True),
    (COMM_DISPATCHER, IN_OTHER_COMM, False),
    (STREET_DISPATCHER, IN_OTHER_COMM, True),
    (STREET_DISPATCHER, IN_OTHER_STREET, False),
    (actor(Role.integration), IN_OTHER_STREET, True),
    (actor(Role.integration, jurisdiction_id=STREET), IN_OTHER_COMM, True),
    (actor(Role.integration, jurisdiction_id=STREET), IN_OTHER_STREET, False),
    (actor(Role.integration, jurisdiction_id=COMM), IN_OTHER_COMM, False),
    (ADMIN, IN_OTHER_STREET, True),
    (STAFF, IN_COMM, False),
    (LEAD, IN_COMM, False),
    (actor(Role.supervisor, jurisdiction_id=STREET, scope_level="street"), IN_COMM, False),
    (actor(Role.community_dispatcher), IN_COMM, False),  # no node: nothing
])
def test_who_may_post_in_a_grid(who, grid, may):
    assert can_post_in_grid(who, grid) is may


def _where(who: Actor, dialect=None) -> str:
    stmt = select(Ticket.id).where(ticket_scope_clause(who, Ticket))
    compiled = stmt.compile(dialect=dialect or sqlite.dialect(),
                            compile_kwargs={"literal_binds": True})
    return str(compiled).split("WHERE", 1)[1].strip()


# A department sees its own queue's tickets and those a whistle summoned it to.
DEPARTMENT_OR_SUMMONED = (
    f"tickets.department_id = {DEPT} OR tickets.id IN (SELECT whistle_summons.ticket_id \n"
    f"FROM whistle_summons \nWHERE whistle_summons.department_id = {DEPT})")


@pytest.mark.parametrize(("who", "where"), [
    (ADMIN, "1 = 1"),
    (GRID_WORKER, f"tickets.grid_id IN ({GRID}, {GRID2})"),
    (COMM_DISPATCHER, f"tickets.community_id = {COMM}"),
    (STREET_DISPATCHER, f"tickets.street_id = {STREET}"),
    (actor(Role.supervisor, jurisdiction_id=STREET, scope_level="street"),
     f"tickets.street_id = {STREET}"),
    (actor(Role.supervisor, jurisdiction_id=COMM, scope_level="community"),
     f"tickets.community_id = {COMM}"),
    (actor(Role.supervisor, jurisdiction_id=GRID, scope_level="grid"),
     f"tickets.grid_id = {GRID}"),
    (STAFF, DEPARTMENT_OR_SUMMONED),
    (LEAD, DEPARTMENT_OR_SUMMONED),
    (actor(Role.integration, jurisdiction_id=STREET), "tickets.created_by_api_key_id = 42"),
])
def test_ticket_scope_clause(who, where):
    assert _where(who) == where


@pytest.mark.parametrize("who", [
    actor(Role.grid_worker),
    actor(Role.community_dispatcher),
    actor(Role.street_dispatcher),
    actor(Role.supervisor),
    actor(Role.supervisor, jurisdiction_id=STREET, scope_level=None),
    actor(Role.department_staff),
])
def test_missing_scope_fails_closed(who):
    assert _where(who) == "0 = 1"
    assert _where(who, postgresql.dialect()) == "false"
